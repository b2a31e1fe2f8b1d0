/** Every Bull queue the components use, so the API's job board can show them all. */
export const QUEUE_NAMES = ['maintenance', 'email', 'sms', 'suspensions', 'engagement', 'notifications', 'images'] as const;
