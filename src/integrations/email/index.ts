export { MailDeliveryError, type Mailer, type MailDeliveryErrorCode, type MailSendOptions, type OutgoingMail, type SentMail } from './mailer';
export { createSmtpMailer, type SmtpMailerOptions } from './smtp-mailer';
export { startSmtpSimulator, type CapturedMail, type SmtpSimulator, type SmtpSimulatorOptions } from './smtp-simulator';
export { resetPassword, verifyEmail, type LinkMailParams, type MailContent } from './templates';
export { sendEmailJob, type SendEmailPayload } from './jobs';
