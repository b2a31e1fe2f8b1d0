import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, expectProblem, outcome, sendInvalid } from './support';
import { finishNiceWindow, hasSandbox, signUp } from './identity';

const TERMS = '2026-11-01';
// A few metres from the representative points of 망원제1동 and 역삼1동.
const MANGWON_1 = { lat: 37.5526, lng: 126.9079, code: '1144069000' };
const YEOKSAM_1 = { lat: 37.4927, lng: 127.0353, code: '1168064000' };

describe.runIf(hasSandbox)('location consent and neighbourhoods (동네인증)', () => {
  it('when a user agrees to the location terms and verifies where they are, then the dong is theirs for 30 days, and settings, removal and withdrawal work', async () => {
    const user = await signUp('dong');
    const me = api({ token: user.token });
    expectProblem(outcome(await me.POST('/users/me/neighbourhoods', { body: { lat: MANGWON_1.lat, lng: MANGWON_1.lng } })), 403, 'location_consent_required');
    expectProblem(outcome(await me.GET('/users/me/location-consent')), 404, 'not_found');
    expectProblem(outcome(await me.PUT('/users/me/location-consent', { body: { terms_version: '2025-01-01' } })), 422, 'location_terms_outdated');

    const consent = await me.PUT('/users/me/location-consent', { body: { terms_version: TERMS } });
    expect(consent.data).toMatchObject({ object: 'location_consent', terms_version: TERMS });
    expect((await me.GET('/users/me/location-consent')).data).toEqual(consent.data);

    const mangwon = await me.POST('/users/me/neighbourhoods', { params: { header: { 'Idempotency-Key': randomUUID() } }, body: { lat: MANGWON_1.lat, lng: MANGWON_1.lng } });
    expect(mangwon.response.status).toBe(200);
    expect(mangwon.data).toMatchObject({ dong_code: MANGWON_1.code, primary: true, active: true });
    expect(Date.parse(mangwon.data!.expires_at) - Date.parse(mangwon.data!.verified_at)).toBe(30 * 86_400_000);
    expect(mangwon.data!.neighbours.length).toBeGreaterThan(0);
    const yeoksam = await me.POST('/users/me/neighbourhoods', { body: { lat: YEOKSAM_1.lat, lng: YEOKSAM_1.lng } });
    expect(yeoksam.data).toMatchObject({ dong_code: YEOKSAM_1.code, primary: false });

    const primary = await me.PATCH('/users/me/neighbourhoods/{dong_code}', { params: { path: { dong_code: YEOKSAM_1.code } }, body: { primary: true, range: 'far' } });
    expect(primary.data).toMatchObject({ dong_code: YEOKSAM_1.code, primary: true, range: 'far' });
    const list = await me.GET('/users/me/neighbourhoods');
    expect(list.data!.data.map((n) => [n.dong_code, n.primary])).toEqual(expect.arrayContaining([[YEOKSAM_1.code, true], [MANGWON_1.code, false]]));

    expect((await me.DELETE('/users/me/neighbourhoods/{dong_code}', { params: { path: { dong_code: MANGWON_1.code } } })).response.status).toBe(204);
    expectProblem(outcome(await me.DELETE('/users/me/neighbourhoods/{dong_code}', { params: { path: { dong_code: MANGWON_1.code } } })), 404, 'not_found');
    expect((await me.DELETE('/users/me/location-consent')).response.status).toBe(204);
    expect((await me.GET('/users/me/neighbourhoods')).data!.data).toEqual([]);
    expectProblem(outcome(await me.DELETE('/users/me/location-consent')), 404, 'not_found');
  });

  it('when the position is abroad, then 422 location_outside_service_area; an impossible latitude is a 400', async () => {
    const user = await signUp('abroad');
    const me = api({ token: user.token });
    expect((await me.PUT('/users/me/location-consent', { body: { terms_version: TERMS } })).response.status).toBe(200);
    expectProblem(outcome(await me.POST('/users/me/neighbourhoods', { body: { lat: 35.6812, lng: 139.7671 } })), 422, 'location_outside_service_area');
    const res = await sendInvalid('api', '/users/me/neighbourhoods', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: JSON.stringify({ lat: 91, lng: 127 }),
    });
    expectProblem(res, 400, 'validation_failed');
  });
});

describe.runIf(hasSandbox)('identity verification (본인인증, NICE)', () => {
  it('when a user completes the NICE window, then the verification and the profile say verified; a second one is 409', async () => {
    const user = await signUp('idv');
    const me = api({ token: user.token });
    const started = await me.POST('/users/verify');
    expect(started.response.status).toBe(201);
    expect(started.data).toMatchObject({ object: 'identity_verification', status: 'pending' });
    const id = started.data!.id;
    expect((await me.GET('/users/verify/{verification_id}', { params: { path: { verification_id: id } } })).data!.status).toBe('pending');

    const returned = await finishNiceWindow(started.data!.auth_url!);
    const done = await me.POST('/users/verify/{verification_id}/complete', { params: { path: { verification_id: id } }, body: returned });
    expect(done.response.status).toBe(200);
    expect(done.data).toMatchObject({ id, status: 'verified' });
    expect((await me.GET('/users/verify/{verification_id}', { params: { path: { verification_id: id } } })).data!.status).toBe('verified');
    expect((await me.GET('/users/profile')).data!.identity_verified).toBe(true);
    expectProblem(outcome(await me.POST('/users/verify')), 409, 'account_already_verified');
  });

  it("when the verification is unknown or another user's, then it is a 404", async () => {
    const [user, other] = await Promise.all([signUp('idv1'), signUp('idv2')]);
    const started = await api({ token: other.token }).POST('/users/verify');
    const me = api({ token: user.token });
    expectProblem(outcome(await me.GET('/users/verify/{verification_id}', { params: { path: { verification_id: started.data!.id } } })), 404, 'not_found');
    expectProblem(outcome(await me.GET('/users/verify/{verification_id}', { params: { path: { verification_id: 'idv_00000000000000000000' } } })), 404, 'not_found');
  });
});
