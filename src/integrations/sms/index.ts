export { SmsSendError, type SentSms, type SmsMessage, type SmsSender, type SmsSendErrorCode } from './sms-sender';
export { createSensSmsSender, type SensOptions } from './sens-client';
export { SENS_SIMULATOR_DEFAULTS, startSmsSimulator, type ReceivedSms, type SmsSimulator, type SmsSimulatorOptions } from './sms-simulator';
export { sendSmsJob, type SendSmsPayload } from './jobs';
