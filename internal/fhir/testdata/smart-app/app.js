// Back from the authorization: fhirclient exchanges the code (with the PKCE verifier),
// then the app reads its patient and their Observations, and tries a Condition, which its
// scopes do not cover. What it saw goes into #result for the test to read.
FHIR.oauth2.ready().then(async (client) => {
  const out = { patientId: client.patient.id, scope: client.state.tokenResponse.scope };
  const pt = await client.patient.read();
  out.patient = { id: pt.id, family: pt.name && pt.name[0] && pt.name[0].family };
  const obs = await client.patient.request("Observation", { pageLimit: 0, flat: true });
  out.observations = obs.map((o) => ({ id: o.id, value: o.valueQuantity && o.valueQuantity.value }));
  try {
    await client.request("Condition?patient=" + client.patient.id);
    out.condition = { status: 200 };
  } catch (e) {
    out.condition = { status: e.status, message: String(e.message) };
  }
  document.getElementById("result").textContent = JSON.stringify(out);
}).catch((e) => {
  document.getElementById("error").textContent = String((e && e.stack) || e);
});
