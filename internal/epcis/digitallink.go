package epcis

import (
	"strconv"
	"strings"
)

// NormaliseID converts an EPC URI, EPC class URI, EPC pattern URI or GS1 Digital Link URI
// into the constrained canonical GS1 Digital Link URI the Event Hash ID uses (CBV 2.0:
// https://id.gs1.org, no query string, only the finest level of identification). It
// returns "" for anything that is not such an identifier. The branches follow the
// reference implementation step for step, including its quirks, because the hash must
// match it byte for byte.
func NormaliseID(uri string) string {
	partition := strings.IndexByte(uri, '.')
	if partition < 0 {
		return ""
	}
	gcp := func(start int) string { return pySlice(uri, start, partition) }
	ref := func(gcp string, width int) string {
		return pySlice(uri, partition+1, partition+1+(width-len(gcp)))
	}
	gtin := func(gcp, itemref string) string {
		raw := pySlice(itemref, 0, 1) + gcp + pySliceFrom(itemref, 1)
		return raw + checkDigit(raw)
	}
	switch {
	case reSgtin.MatchString(uri):
		p := gcp(17)
		return "https://id.gs1.org/01/" + gtin(p, ref(p, 13)) + "/21/" + percentEncode(pySliceFrom(uri, 32))
	case reSscc.MatchString(uri):
		p := gcp(16)
		raw := pySlice(uri, partition+1, partition+2) + p + pySliceFrom(uri, partition+2)
		return "https://id.gs1.org/00/" + raw + checkDigit(raw)
	case reSgln.MatchString(uri):
		p := gcp(16)
		raw := p + ref(p, 12)
		ext := pySliceFrom(uri, 30)
		if ext == "0" {
			return "https://id.gs1.org/414/" + raw + checkDigit(raw)
		}
		return "https://id.gs1.org/414/" + raw + checkDigit(raw) + "/254/" + percentEncode(ext)
	case reGrai.MatchString(uri):
		p := gcp(16)
		raw := "0" + p + ref(p, 12)
		return "https://id.gs1.org/8003/" + raw + checkDigit(raw) + percentEncode(pySliceFrom(uri, 30))
	case reGiai.MatchString(uri):
		return "https://id.gs1.org/8004/" + gcp(16) + percentEncode(pySliceFrom(uri, partition+1))
	case reGsrn.MatchString(uri):
		raw := gcp(16) + pySliceFrom(uri, partition+1)
		return "https://id.gs1.org/8018/" + raw + checkDigit(raw)
	case reGsrnp.MatchString(uri):
		raw := gcp(17) + pySliceFrom(uri, partition+1)
		return "https://id.gs1.org/8017/" + raw + checkDigit(raw)
	case reGdti.MatchString(uri):
		p := gcp(16)
		raw := p + ref(p, 12)
		return "https://id.gs1.org/253/" + raw + checkDigit(raw) + percentEncode(pySliceFrom(uri, 30))
	case reCpi.MatchString(uri):
		sep := strings.LastIndexByte(uri, '.')
		raw := gcp(15) + pySlice(uri, partition+1, sep)
		return "https://id.gs1.org/8010/" + percentEncode(raw) + "/8011/" + pySliceFrom(uri, sep+1)
	case reSgcn.MatchString(uri):
		p := gcp(16)
		raw := p + ref(p, 12)
		return "https://id.gs1.org/255/" + raw + checkDigit(raw) + pySliceFrom(uri, 30)
	case reGinc.MatchString(uri):
		return "https://id.gs1.org/401/" + gcp(16) + percentEncode(pySliceFrom(uri, partition+1))
	case reGsin.MatchString(uri):
		raw := gcp(16) + pySliceFrom(uri, partition+1)
		return "https://id.gs1.org/402/" + raw + checkDigit(raw)
	case reItip.MatchString(uri):
		p := gcp(16)
		return "https://id.gs1.org/8006/" + gtin(p, ref(p, 13)) + pySlice(uri, 31, 33) + pySlice(uri, 34, 36) +
			"/21/" + percentEncode(pySliceFrom(uri, 37))
	case reUpui.MatchString(uri):
		p := gcp(16)
		return "https://id.gs1.org/01/" + gtin(p, ref(p, 13)) + "/235/" + percentEncode(pySliceFrom(uri, 31))
	case rePgln.MatchString(uri):
		p := gcp(16)
		raw := p + ref(p, 12)
		return "https://id.gs1.org/417/" + raw + checkDigit(raw)
	case reLgtinClass.MatchString(uri):
		p := gcp(20)
		return "https://id.gs1.org/01/" + gtin(p, ref(p, 13)) + "/10/" + percentEncode(pySliceFrom(uri, 35))
	case reSgtinPat.MatchString(uri):
		p := gcp(20)
		return "https://id.gs1.org/01/" + gtin(p, ref(p, 13))
	case reGraiPat.MatchString(uri):
		p := gcp(19)
		raw := "0" + p + ref(p, 12)
		return "https://id.gs1.org/8003/" + raw + checkDigit(raw)
	case reGdtiPat.MatchString(uri):
		p := gcp(19)
		raw := p + ref(p, 12)
		return "https://id.gs1.org/253/" + raw + checkDigit(raw)
	case reSgcnPat.MatchString(uri):
		p := gcp(19)
		raw := p + ref(p, 12)
		return "https://id.gs1.org/255/" + raw + checkDigit(raw)
	case reCpiPat.MatchString(uri):
		sep := strings.LastIndexByte(uri, '.')
		return "https://id.gs1.org/8010/" + percentEncode(gcp(18)+pySlice(uri, partition+1, sep))
	case reItipPat.MatchString(uri):
		p := gcp(19)
		return "https://id.gs1.org/8006/" + gtin(p, ref(p, 13)) + pySlice(uri, 34, 36) + pySlice(uri, 37, 39)
	case reUpuiPat.MatchString(uri):
		p := gcp(19)
		return "https://id.gs1.org/01/" + gtin(p, ref(p, 13))
	}
	return normaliseDigitalLink(uri)
}

// dlKeyShortNames maps the Digital Link short names to their application identifiers,
// in the order the reference replaces them.
var dlKeyShortNames = [][2]string{
	{"/gtin/", "/01/"}, {"/itip/", "/8006/"}, {"/cpid/", "/8010/"}, {"/gln/", "/414/"},
	{"/party/", "/417/"}, {"/gsrnp/", "/8017/"}, {"/gsrn/", "/8018/"}, {"/gcn/", "/255/"},
	{"/sscc/", "/00/"}, {"/gdti/", "/253/"}, {"/ginc/", "/401/"}, {"/gsin/", "/402/"},
	{"/grai/", "/8003/"}, {"/giai/", "/8004/"}, {"/cpv/", "/22/"}, {"/lot/", "/10/"},
	{"/ser/", "/21/"},
}

// dlPrimaryKeys are the keys searched for when a custom domain is replaced, in order.
var dlPrimaryKeys = []string{"/00/", "/01/", "/253/", "/255/", "/401/", "/402/", "/414/", "/417/",
	"/8003/", "/8004/", "/8006/", "/8010/", "/8017/", "/8018/"}

func normaliseDigitalLink(uri string) string {
	if !reDlSyntax.MatchString(uri) {
		return ""
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	for _, r := range dlKeyShortNames {
		uri = strings.ReplaceAll(uri, r[0], r[1])
	}
	if !reDlCanonical.MatchString(uri) {
		for _, k := range dlPrimaryKeys {
			if i := strings.Index(uri, k); i >= 0 {
				uri = "https://id.gs1.org" + uri[i:]
				break
			}
		}
	}
	if !reGtin14.MatchString(uri) {
		switch {
		case reGtin13.MatchString(uri):
			uri = strings.ReplaceAll(uri, "/01/", "/01/0")
		case reGtin12.MatchString(uri):
			uri = strings.ReplaceAll(uri, "/01/", "/01/00")
		case reGtin8.MatchString(uri):
			uri = strings.ReplaceAll(uri, "/01/", "/01/000000")
		}
	}
	// Strip a consumer product variant (AI 22).
	x := pySliceFrom(uri, strings.Index(uri, "/22/")+4)
	if reCpv8006.MatchString(uri) || reCpv01.MatchString(uri) {
		uri = pySlice(uri, 0, strings.Index(uri, "/22/")) + pySlice(x, strings.IndexByte(x, '/'), -1)
	}
	if reCpv8006Qual.MatchString(uri) || reCpv01Qual.MatchString(uri) {
		uri = pySlice(uri, 0, strings.Index(uri, "/22/")) + pySliceFrom(x, strings.IndexByte(x, '/'))
	}
	// Keep the finest level: with a serial, drop the lot.
	if reLot8006Ser.MatchString(uri) || reLot01Ser.MatchString(uri) {
		y := pySliceFrom(uri, strings.Index(uri, "/10/")+4)
		uri = pySlice(uri, 0, strings.Index(uri, "/10/")) + pySliceFrom(y, strings.IndexByte(y, '/'))
	}
	for _, re := range reValidOutput {
		if re.MatchString(uri) {
			return uri
		}
	}
	return ""
}

// checkDigit is the GS1 mod-10 check digit of a key without its check digit.
func checkDigit(key string) string {
	sum := 0
	n := len(key)
	for i := 0; i < n; i++ {
		d := int(key[n-1-i] - '0')
		if i%2 == 0 {
			sum += 3 * d
		} else {
			sum += d
		}
	}
	return strconv.Itoa((10 - sum%10) % 10)
}

// percentEncode escapes the characters GS1 Digital Link requires escaped that EPC URIs
// may carry literally.
var percentEncoder = strings.NewReplacer("!", "%21", "(", "%28", ")", "%29", "*", "%2A",
	"+", "%2B", ",", "%2C", ":", "%3A")

func percentEncode(s string) string { return percentEncoder.Replace(s) }

// pySlice is Python's s[i:j] for byte offsets: negative offsets count from the end and
// out-of-range offsets clamp instead of panicking.
func pySlice(s string, i, j int) string {
	n := len(s)
	clamp := func(k int) int {
		if k < 0 {
			k += n
			if k < 0 {
				k = 0
			}
		}
		if k > n {
			k = n
		}
		return k
	}
	i, j = clamp(i), clamp(j)
	if i >= j {
		return ""
	}
	return s[i:j]
}

func pySliceFrom(s string, i int) string { return pySlice(s, i, len(s)) }
