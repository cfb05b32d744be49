// Drives an ehrchain node with the third-party EPCIS 2.0 client epcis2.js, unchanged:
// builds an EPCISDocument with the library's classes, captures it through the library's
// capture() (GS1 REST binding: POST {apiUrl}/capture) with the partner's bearer token,
// then queries the events back (GET /epcis/events), following the Link header's
// rel="next" page by page. epcis2.js has no query function, so the query is a plain
// fetch. Prints one JSON line: what was sent, what the node answered, what came back.
//
// Environment: EHRCHAIN_API (the node's API base URL), EHRCHAIN_TOKEN (a bearer token).
'use strict';
const { EPCISDocument, ObjectEvent, AggregationEvent, BizLocation, ReadPoint, cbv, setup, capture } = require('epcis2.js');

async function main() {
  const api = process.env.EHRCHAIN_API;
  const token = process.env.EHRCHAIN_TOKEN;
  if (!api || !token) throw new Error('EHRCHAIN_API and EHRCHAIN_TOKEN must be set');
  const auth = { Authorization: `Bearer ${token}` };
  setup({ apiUrl: `${api}/epcis`, headers: { 'content-type': 'application/ld+json', ...auth } });

  const packs = ['urn:epc:id:sgtin:4012345.012345.2001', 'urn:epc:id:sgtin:4012345.012345.2002'];
  const kase = 'urn:epc:id:sscc:4012345.0000000002';
  const site = 'urn:epc:id:sgln:4012345.00000.0';

  const commission = new ObjectEvent()
    .setAction(cbv.actionTypes.add)
    .setBizStep(cbv.bizSteps.commissioning)
    .setDisposition(cbv.dispositions.active)
    .setEventTime('2026-03-01T08:00:00.000+01:00')
    .addEPCList(packs)
    .setReadPoint(new ReadPoint().setId(site))
    .setBizLocation(new BizLocation().setId(site));
  const pack = new AggregationEvent()
    .setAction(cbv.actionTypes.add)
    .setBizStep(cbv.bizSteps.packing)
    .setDisposition(cbv.dispositions.in_progress)
    .setEventTime('2026-03-01T08:05:00.000+01:00')
    .setParentId(kase)
    .addChildEPCList(packs)
    .setBizLocation(new BizLocation().setId(site));
  // The library's own Event Hash IDs, as eventID (not part of the hash). epcis2.js 2.7.3
  // disagrees with GS1's event-hash test vectors for some events (AggregationEvents among
  // them); the node identifies events by the GS1 algorithm and keeps these eventIDs as sent.
  commission.generateHashID({});
  pack.generateHashID({});
  const doc = new EPCISDocument().setCreationDate('2026-03-01T08:10:00.000Z').addEvent(commission).addEvent(pack);

  const res = await capture(doc); // validates the document with the library's schema first
  const captured = await res.json();
  if (res.status !== 200) throw new Error(`capture: HTTP ${res.status}: ${JSON.stringify(captured)}`);

  const queried = [];
  let pages = 0;
  let next = `/epcis/events?${new URLSearchParams({ MATCH_anyEPC: packs[0], perPage: '1' })}`;
  while (next && pages < 10) {
    const q = await fetch(new URL(next, api), { headers: auth });
    const body = await q.json();
    if (q.status !== 200) throw new Error(`query: HTTP ${q.status}: ${JSON.stringify(body)}`);
    pages++;
    if (body.type !== 'EPCISQueryDocument') throw new Error(`query answered a ${body.type}`);
    for (const ev of body.epcisBody.queryResults.resultsBody.eventList) queried.push({ eventID: ev.eventID, type: ev.type, bizStep: ev.bizStep });
    const link = q.headers.get('link') || '';
    const m = /<([^>]*)>\s*;\s*rel="next"/.exec(link);
    next = m ? m[1] : '';
  }
  console.log(JSON.stringify({
    document: doc.toObject(),
    sent: [commission.eventID, pack.eventID],
    captured: captured.events,
    queried,
    pages,
  }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
