// Finds a patient and walks histories with fhir-kit-client, as an integrator would: a
// patient search by family name and birth date, a chained search paged to the end, an
// _include:iterate, a reverse chain (_has), an _include=*, and a type history paged to the end. FHIR_BASE, FHIR_TOKEN, FAMILY and
// BIRTHDATE come from the environment; the results are printed as one JSON object.
import { Client } from 'fhir-kit-client';

const client = new Client({ baseUrl: process.env.FHIR_BASE, bearerToken: process.env.FHIR_TOKEN });
const family = process.env.FAMILY;
const birthdate = process.env.BIRTHDATE;
const out = {};

const found = await client.search({ resourceType: 'Patient', searchParams: { family, birthdate } });
out.patientSearch = { total: found.total, ids: (found.entry ?? []).map((e) => e.resource.id) };

let page = await client.search({ resourceType: 'Observation', searchParams: { 'patient.family': family, code: 'http://loinc.org|8302-2', _count: '4' } });
out.chained = { total: page.total, pages: 0, ids: [] };
while (page) {
  out.chained.pages++;
  for (const e of page.entry ?? []) out.chained.ids.push(e.resource.id);
  if (out.chained.pages > 1000) throw new Error('next links do not end');
  page = await client.nextPage({ bundle: page });
}

const patient = out.patientSearch.ids[0];
const it = await client.search({ resourceType: 'Observation', searchParams: { patient, code: 'http://loinc.org|8302-2', _count: '2', '_include': 'Observation:encounter', '_include:iterate': 'Encounter:patient' } });
out.iterate = {
  matches: (it.entry ?? []).filter((e) => e.search?.mode === 'match').length,
  included: (it.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => e.resource.resourceType).sort(),
};

const has = await client.search({ resourceType: 'Patient', searchParams: { '_has:Observation:subject:code': 'http://loinc.org|8302-2', family } });
out.has = { total: has.total, ids: (has.entry ?? []).map((e) => e.resource.id) };

const star = await client.search({ resourceType: 'Observation', searchParams: { patient, code: 'http://loinc.org|8302-2', _count: '1', _include: '*' } });
out.wildcard = {
  matches: (star.entry ?? []).filter((e) => e.search?.mode === 'match').length,
  included: (star.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => e.resource.resourceType).sort(),
};

let hist = await client.history({ resourceType: 'Encounter' });
out.history = { type: hist.type, total: hist.total, pages: 0, entries: [] };
while (hist) {
  out.history.pages++;
  for (const e of hist.entry ?? []) out.history.entries.push(`${e.request?.url}/_history/${e.resource?.meta?.versionId}`);
  if (out.history.pages > 1000) throw new Error('next links do not end');
  hist = await client.nextPage({ bundle: hist });
}

process.stdout.write(JSON.stringify(out) + '\n');
