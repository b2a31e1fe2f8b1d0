/** The messages the users component sends; delivery is asynchronous (a job per message). */
export interface AccountMail {
  verifyEmail(to: string, nickname: string, token: string): Promise<void>;
  accountExists(to: string, nickname: string): Promise<void>;
  resetPassword(to: string, nickname: string, token: string): Promise<void>;
}
