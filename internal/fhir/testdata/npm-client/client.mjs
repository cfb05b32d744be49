// Drives the ehrchain FHIR gateway with fhir-kit-client, a stock FHIR client from npm, as an
// integrator would. FHIR_BASE, FHIR_TOKEN and PATIENT come from the environment; each step's
// result is printed as one JSON object for the Go test to check.
import { Client } from 'fhir-kit-client';

const client = new Client({ baseUrl: process.env.FHIR_BASE, bearerToken: process.env.FHIR_TOKEN });
const patient = process.env.PATIENT;
const out = {};
const status = (r) => Client.httpFor(r).response?.status;
const header = (r, h) => Client.httpFor(r).response?.headers.get(h);
const failure = (e) => ({ status: e.response?.status, outcome: e.response?.data });

const cs = await client.capabilityStatement();
out.capability = {
  resourceType: cs.resourceType,
  fhirVersion: cs.fhirVersion,
  observationInteractions: cs.rest[0].resource.find((r) => r.type === 'Observation').interaction.map((i) => i.code),
};

const obs = {
  resourceType: 'Observation', status: 'final', subject: { reference: `Patient/${patient}` },
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  effectiveDateTime: '2026-02-03T04:05:06Z',
  valueQuantity: { value: 61, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
};
const created = await client.create({ resourceType: 'Observation', body: obs });
out.create = { status: status(created), id: created.id, versionId: created.meta?.versionId, location: header(created, 'location'), etag: header(created, 'etag') };

const read = await client.read({ resourceType: 'Observation', id: created.id });
out.read = { status: status(read), value: read.valueQuantity?.value, etag: header(read, 'etag') };

const changed = { ...read, valueQuantity: { ...read.valueQuantity, value: 64 } };
const updated = await client.update({ resourceType: 'Observation', id: created.id, body: changed, options: { headers: { 'If-Match': 'W/"1"' } } });
out.update = { status: status(updated), versionId: updated.meta?.versionId };
try {
  await client.update({ resourceType: 'Observation', id: created.id, body: changed, options: { headers: { 'If-Match': 'W/"1"' } } });
  out.staleUpdate = { status: 'accepted' };
} catch (e) {
  out.staleUpdate = failure(e);
}
const head = await client.read({ resourceType: 'Observation', id: created.id });
out.afterStale = { versionId: head.meta?.versionId, value: head.valueQuantity?.value };

let page = await client.search({ resourceType: 'Observation', searchParams: { patient, code: 'http://loinc.org|8867-4', _count: '7' } });
out.search = { total: page.total, pages: 0, entries: 0, ids: [] };
while (page) {
  out.search.pages++;
  for (const e of page.entry ?? []) {
    out.search.entries++;
    out.search.ids.push(e.resource.id);
  }
  if (out.search.pages > 1000) throw new Error('next links do not end');
  page = await client.nextPage({ bundle: page });
}

const inc = await client.search({ resourceType: 'Observation', searchParams: { patient, _sort: 'date', _count: '3', _include: 'Observation:encounter' } });
out.include = {
  matches: (inc.entry ?? []).filter((e) => e.search?.mode === 'match').length,
  included: (inc.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => e.resource.resourceType),
};

const tx = await client.transaction({
  body: {
    resourceType: 'Bundle', type: 'transaction', entry: [
      { fullUrl: 'urn:uuid:4a0cbd9e-6c51-4f8e-a1e5-0d6f1c1b2a01', request: { method: 'POST', url: 'Encounter' },
        resource: { resourceType: 'Encounter', status: 'finished', subject: { reference: `Patient/${patient}` },
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' } } },
      { fullUrl: 'urn:uuid:4a0cbd9e-6c51-4f8e-a1e5-0d6f1c1b2a02', request: { method: 'POST', url: 'Observation' },
        resource: { ...obs, encounter: { reference: 'urn:uuid:4a0cbd9e-6c51-4f8e-a1e5-0d6f1c1b2a01' }, valueQuantity: { ...obs.valueQuantity, value: 70 } } },
    ],
  },
});
out.transaction = { status: status(tx), type: tx.type, responses: (tx.entry ?? []).map((e) => e.response) };
const txObs = tx.entry?.[1]?.response?.location?.split('/_history/')[0];
if (txObs) {
  const o = await client.resolve({ reference: txObs });
  out.transaction.observationEncounter = o.encounter?.reference;
}

const batch = await client.batch({
  body: {
    resourceType: 'Bundle', type: 'batch', entry: [
      { request: { method: 'GET', url: `Observation/${created.id}` } },
      { request: { method: 'PUT', url: `Observation/${created.id}`, ifMatch: 'W/"1"' }, resource: changed },
      { request: { method: 'POST', url: 'Observation' }, resource: { ...obs, valueQuantity: { ...obs.valueQuantity, value: 66 } } },
    ],
  },
});
out.batch = { status: status(batch), type: batch.type, statuses: (batch.entry ?? []).map((e) => e.response?.status), outcome: batch.entry?.[1]?.response?.outcome?.resourceType, created: batch.entry?.[2]?.resource?.id };

// The patient's compartment: one type searched within it, and $everything paged to the end.
const comp = await client.compartmentSearch({ resourceType: 'Observation', compartment: { resourceType: 'Patient', id: patient }, searchParams: { code: 'http://loinc.org|8867-4' } });
out.compartment = { total: comp.total };
let ev = await client.operation({ name: 'everything', resourceType: 'Patient', id: patient, method: 'GET', input: { _count: '25' } });
out.everything = { total: ev.total, first: ev.entry?.[0]?.resource?.resourceType, pages: 0, refs: [] };
while (ev) {
  out.everything.pages++;
  for (const e of ev.entry ?? []) out.everything.refs.push(`${e.resource.resourceType}/${e.resource.id}`);
  if (out.everything.pages > 1000) throw new Error('next links do not end');
  ev = await client.nextPage({ bundle: ev });
}

process.stdout.write(JSON.stringify(out) + '\n');
