// The standalone launch: the FHIR server is named by ?iss=; fhirclient discovers its
// endpoints (.well-known/smart-configuration) and sends the browser to authorize, with
// PKCE required.
FHIR.oauth2.authorize({
  iss: new URLSearchParams(location.search).get("iss"),
  clientId: "growth-app",
  scope: "launch/patient patient/Patient.read patient/Observation.rs",
  redirectUri: "app.html",
  pkceMode: "required",
}).catch((e) => {
  document.getElementById("error").textContent = String((e && e.stack) || e);
});
