package audit

// FirstAtOrAfter exposes firstAtOrAfter to the external tests, which build their logs with
// audittest (an internal test could not import it: audittest imports audit).
var FirstAtOrAfter = firstAtOrAfter
