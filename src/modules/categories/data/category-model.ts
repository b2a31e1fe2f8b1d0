import { DataTypes, Model, type InferAttributes, type InferCreationAttributes, type Sequelize } from 'sequelize';

export class CategoryModel extends Model<InferAttributes<CategoryModel>, InferCreationAttributes<CategoryModel>> {
  declare id: string;
  declare parentId: string | null;
  declare name: string;
  declare slug: string;
  declare depth: number;
  declare path: string;
  declare sortOrder: number;
  declare createdAt: Date;
  declare updatedAt: Date;
}

export function defineCategoryModel(sequelize: Sequelize): typeof CategoryModel {
  CategoryModel.init(
    {
      id: { type: DataTypes.TEXT, primaryKey: true },
      parentId: { type: DataTypes.TEXT, allowNull: true },
      name: { type: DataTypes.TEXT, allowNull: false },
      slug: { type: DataTypes.TEXT, allowNull: false },
      depth: { type: DataTypes.SMALLINT, allowNull: false },
      path: { type: DataTypes.TEXT, allowNull: false },
      sortOrder: { type: DataTypes.INTEGER, allowNull: false },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { sequelize, tableName: 'categories', underscored: true },
  );
  return CategoryModel;
}
