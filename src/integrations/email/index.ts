// The simulator is not exported here: it needs smtp-server and mailparser, development
// dependencies the production image does not install (import './smtp-simulator' directly).
export { MailDeliveryError, type Mailer, type MailDeliveryErrorCode, type MailSendOptions, type OutgoingMail, type SentMail } from './mailer';
export { createSmtpMailer, type SmtpMailerOptions } from './smtp-mailer';
export { resetPassword, verifyEmail, type LinkMailParams, type MailContent } from './templates';
export { sendEmailJob, type SendEmailPayload } from './jobs';
