// Conventions that hold for every response of every operation (/work/shared/API-CONVENTIONS.md),
// whether or not the spec lists the header on that response.
const label = `[${pm.request.method}] ${pm.request.url.getPath()}`;
pm.test(`${label} - Request-Id header is present`, () => {
  pm.response.to.have.header('Request-Id');
});
if (pm.request.url.getPath().startsWith('/v1/')) {
  pm.test(`${label} - RateLimit-Policy and RateLimit headers are present`, () => {
    pm.response.to.have.header('RateLimit-Policy');
    pm.response.to.have.header('RateLimit');
  });
}
if (pm.response.code >= 400) {
  pm.test(`${label} - the error is problem+json with a stable code and the request id`, () => {
    pm.expect(pm.response.headers.get('Content-Type')).to.match(/^application\/problem\+json/);
    const problem = pm.response.json();
    pm.expect(problem.status).to.equal(pm.response.code);
    pm.expect(problem.code).to.match(/^[a-z][a-z0-9_]*$/);
    pm.expect(problem.request_id).to.equal(pm.response.headers.get('Request-Id'));
  });
}
