// Each request comes from a client address of its own (the app trusts its loopback proxy), so the
// default rate limit (100 requests / 60 s per address) never trips a run, however often it runs.
const octet = () => Math.floor(Math.random() * 254) + 1;
pm.request.headers.upsert({ key: 'X-Forwarded-For', value: `10.${octet()}.${octet()}.${octet()}` });

// Authenticator codes, as a phone would show them: for every variable `<name>TotpSecret` (base32),
// `<name>TotpCode` holds the code of the next 30-second step. The server accepts one step either
// side and each step once per account, so the next step is always one it has not seen yet.
const totp = (secret, step) => {
  const CryptoJS = require('crypto-js');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bits = secret
    .toUpperCase()
    .replace(/=+$/, '')
    .split('')
    .map((c) => alphabet.indexOf(c).toString(2).padStart(5, '0'))
    .join('');
  let key = '';
  for (let i = 0; i + 8 <= bits.length; i += 8) key += parseInt(bits.slice(i, i + 8), 2).toString(16).padStart(2, '0');
  const counter = (Math.floor(Date.now() / 30_000) + step).toString(16).padStart(16, '0');
  const mac = CryptoJS.HmacSHA1(CryptoJS.enc.Hex.parse(counter), CryptoJS.enc.Hex.parse(key)).toString(CryptoJS.enc.Hex);
  const offset = parseInt(mac.slice(-1), 16);
  return String((parseInt(mac.substr(offset * 2, 8), 16) & 0x7fffffff) % 1_000_000).padStart(6, '0');
};
const secrets = { ...pm.environment.toObject(), ...pm.collectionVariables.toObject() };
for (const [name, secret] of Object.entries(secrets)) {
  if (name.endsWith('TotpSecret') && secret) pm.collectionVariables.set(name.replace(/Secret$/, 'Code'), totp(secret, 1));
}
