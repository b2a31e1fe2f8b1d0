import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Dong } from '../domain/dong';

/** The shipped dong table (data/korea-dongs/dongs.csv, at the project root in every build). */
export const DONGS_CSV = path.resolve(__dirname, '..', '..', '..', '..', 'data', 'korea-dongs', 'dongs.csv');

/** Parses the file; it has no quoted fields, which the check below makes sure of. */
export function readDongs(file = DONGS_CSV): Dong[] {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  if (header !== 'adm_cd,sido,sigungu,dong,lat,lng') throw new Error(`unexpected header in ${file}: ${header}`);
  return lines.map((line, i) => {
    const cells = line.split(',');
    const [code, sido, sigungu, name, lat, lng] = cells;
    if (cells.length !== 6 || !/^\d{10}$/.test(code!) || !Number.isFinite(Number(lat)) || !Number.isFinite(Number(lng))) {
      throw new Error(`bad row ${i + 2} in ${file}: ${line}`);
    }
    return { code: code!, sido: sido!, sigungu: sigungu!, name: name!, lat: Number(lat), lng: Number(lng) };
  });
}
