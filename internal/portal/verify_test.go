package portal_test

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/chromedp/chromedp"

	"github.com/ehrchain/ehrchain/internal/node/nodetest"
	"github.com/ehrchain/ehrchain/internal/recalltest"
	"github.com/ehrchain/ehrchain/internal/supply"
)

// TestVerifyPageInBrowser: in headless Chromium, with no sign-in, a person checks packs
// on the public verification page by typing the code, by typing the fields printed next
// to it, and by opening the Digital Link a pack's QR code carries (what a phone's camera
// does), and reads genuine, recalled, suspect, already dispensed or unknown, each
// with the proof checked. The page's QR code of a genuine pack decodes (module by
// module) to this portal's Digital Link of the pack, and opening that link checks the
// pack again. Over the API's per-client limit the page answers 429 too: the portal
// cannot be used to get around it.
func TestVerifyPageInBrowser(t *testing.T) {
	e := startEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.node.Server.ConfigureEPCIS(nodetest.SharedData(t, "epcis-2.0/schema/EPCIS-JSON-Schema.json")); err != nil {
		t.Fatal(err)
	}
	s := recalltest.Build(t, ctx, e.cl, e.reg, recalltest.Options{AffectedName: "ada", ClearName: "cy"})
	// Two more packs of the good lot: 103 stays with Acme (genuine); the pharmacy claims
	// to receive 104, which was never shipped to it (suspect, quarantined).
	sg := func(serial string) string { return "urn:epc:id:sgtin:4012345.012345." + serial }
	if _, err := e.cl.Capture(ctx, s.Acme, recalltest.Document(`"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","disposition":"active",`+
		`"epcList":["`+sg("103")+`","`+sg("104")+`"],"ilmd":{"cbvmda:lotNumber":"L1","cbvmda:itemExpirationDate":"2029-06-30"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.Capture(ctx, s.Pharmacy, recalltest.Document(`"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","epcList":["`+sg("104")+`"]`)); err != nil {
		t.Fatal(err)
	}
	gtin := recalltest.GTIN
	dispensed, recalled := s.Packs[s.Affected.ID][0], s.Packs[s.Affected.ID][1] // 101 (lot L1), 201 (lot L2)

	b := newBrowser(t, e.base)
	b.open("/portal/verify")
	b.wantCount("#verify-form", 1)
	b.wantCount("#verdict", 0)

	// Typed: the Digital Link printed under the code.
	b.set("#code", "https://id.gs1.org/01/"+gtin+"/10/L1/21/103?17=290630")
	b.act(click("#verify"))
	wantVerdict(t, b, supply.AnswerGenuine, "Genuine")
	b.wantText("#pack-serial", "103")
	b.wantText("#pack-lot", "L1")
	b.wantText("#pack-expiry", "2029-06-30")
	link := e.base + "/portal/verify/01/" + gtin + "/10/L1/21/103?17=290630"
	b.wantText("#qr-link", link)
	if !eval[bool](b, `(() => { const i = document.querySelector('#qr'); return i.complete && i.naturalWidth > 0 })()`) {
		t.Fatal("the QR code image did not load")
	}
	src := eval[string](b, `document.querySelector('#qr').getAttribute('src')`)
	wantQR(t, e.base+src, link)
	b.shot("verify-genuine")

	// Scanned: the phone opens the Digital Link the QR code holds.
	b.act(chromedp.Navigate(link))
	wantVerdict(t, b, supply.AnswerGenuine, "Genuine")
	b.wantPath("/portal/verify/01/" + gtin + "/10/L1/21/103")
	if got := eval[string](b, `document.querySelector('#code').value`); got != link {
		t.Fatalf("the scanned link shows as %q, want %q", got, link)
	}

	// Typed field by field, the expiry as a date.
	b.open("/portal/verify")
	b.set("#gtin", gtin)
	b.set("#serial", recalled.Serial)
	b.set("#lot", recalled.Lot)
	b.set("#expiry", "20"+recalled.Expiry[:2]+"-"+recalled.Expiry[2:4]+"-"+recalled.Expiry[4:])
	b.act(click("#verify-fields"))
	wantVerdict(t, b, supply.AnswerRecalled, "Recalled")
	b.wantText("#verdict-advice", "recalled")
	b.shot("verify-recalled")

	// A scanner's element string in the URL.
	b.open("/portal/verify?" + url.Values{"code": {"(01)" + gtin + "(21)104(10)L1(17)290630"}}.Encode())
	wantVerdict(t, b, supply.AnswerSuspect, "Suspect")
	b.open("/portal/verify?" + url.Values{"code": {"(01)" + gtin + "(21)" + dispensed.Serial + "(10)L1(17)" + dispensed.Expiry}}.Encode())
	wantVerdict(t, b, supply.AnswerDispensed, "Already dispensed")
	b.open("/portal/verify?gtin=" + gtin + "&serial=555")
	wantVerdict(t, b, supply.AnswerUnknown, "Unknown")
	b.wantText("#proof", "its absence")
	b.wantCount("#qr", 0) // no printable code for a pack that was never made

	// A misread code is refused saying why, and a QR code is drawn only for a pack on
	// the ledger.
	b.open("/portal/verify?code=" + url.QueryEscape("(01)04012345123457(21)1"))
	b.wantText("#error", "check digit")
	b.wantCount("#verdict", 0)
	if st := get(t, e.base+"/portal/verify?code="+url.QueryEscape("(01)04012345123457(21)1")).StatusCode; st != http.StatusBadRequest {
		t.Fatalf("a misread code: HTTP %d", st)
	}
	if st := get(t, e.base+"/portal/verify/qr?code="+url.QueryEscape("(01)"+gtin+"(21)555")).StatusCode; st != http.StatusNotFound {
		t.Fatalf("the QR code of a pack never commissioned: HTTP %d", st)
	}

	// The limit: this test's address asks the API itself until it is refused; the
	// portal's page and QR code, asked from the same address, are refused too.
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if err := e.node.Server.LimitVerify(3, clk.Now); err != nil {
		t.Fatal(err)
	}
	api := e.base + "/epcis/verify?" + url.Values{"code": {"(01)" + gtin + "(21)103"}}.Encode()
	for i := range 3 {
		if st := get(t, api).StatusCode; st != http.StatusOK {
			t.Fatalf("verification %d within the limit: HTTP %d", i+1, st)
		}
	}
	if st := get(t, api).StatusCode; st != http.StatusTooManyRequests {
		t.Fatalf("past the limit: HTTP %d", st)
	}
	resp := get(t, link)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "20" {
		t.Fatalf("the portal's page past the limit: HTTP %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if st := get(t, e.base+src).StatusCode; st != http.StatusTooManyRequests {
		t.Fatalf("the QR code past the limit: HTTP %d", st)
	}
	b.act(chromedp.Navigate(link))
	b.wantText("#error", "Too many checks from your address")
	b.wantCount("#verdict", 0)
	clk.Add(time.Minute) // the allowance is back
	b.act(chromedp.Navigate(link))
	wantVerdict(t, b, supply.AnswerGenuine, "Genuine")
	b.noProblems()
}

func wantVerdict(t *testing.T, b *browser, answer, title string) {
	t.Helper()
	b.wantCount("#verdict[data-answer="+answer+"]", 1)
	b.wantText("#verdict-title", title)
	b.wantText("#proof", "Proof checked")
	if h, _ := strconv.Atoi(eval[string](b, `document.querySelector('#proof').dataset.height`)); h <= 0 {
		t.Fatalf("the proof names height %d", h)
	}
}

// get fetches url with a plain HTTP client (from the test's address, as the browser).
func get(t *testing.T, u string) *http.Response {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

// wantQR fetches the QR code image at u and checks it is a QR code of want: a white quiet
// zone of four modules, the three finder patterns, and every module as an encoding of
// want draws it. (No QR decoder is in the module graph, so the image is compared with an
// independent encoding of the text, module by module.)
func wantQR(t *testing.T, u, want string) {
	t.Helper()
	resp := get(t, u)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("QR code: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	img, err := png.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	dark := func(x, y int) bool {
		r, g, b, _ := img.At(x, y).RGBA()
		return r+g+b < 3*0x8000
	}
	size := img.Bounds().Dx()
	if img.Bounds().Dy() != size {
		t.Fatalf("QR code image is %v, not square", img.Bounds())
	}
	// The module size: the top-left finder's top edge is seven dark modules.
	x0, y0 := -1, -1
	for y := 0; y < size && y0 < 0; y++ {
		for x := range size {
			if dark(x, y) {
				x0, y0 = x, y
				break
			}
		}
	}
	run := 0
	for x := x0; x < size && dark(x, y0); x++ {
		run++
	}
	px := run / 7
	if px == 0 || run%7 != 0 || x0 != 4*px || y0 != 4*px || size%px != 0 {
		t.Fatalf("QR code image %d px: finder at (%d,%d), %d px long: no 4-module quiet zone of whole modules", size, x0, y0, run)
	}
	n := size/px - 8
	module := func(x, y int) bool { return dark((x+4)*px+px/2, (y+4)*px+px/2) }
	for y := -4; y < n+4; y++ {
		for x := -4; x < n+4; x++ {
			if (x < 0 || y < 0 || x >= n || y >= n) && module(x, y) {
				t.Fatalf("a dark module in the quiet zone at (%d,%d)", x, y)
			}
		}
	}
	finder := func(ox, oy int) {
		for y := range 7 {
			for x := range 7 {
				ring := max(abs(x-3), abs(y-3))
				if want := ring != 2; module(ox+x, oy+y) != want {
					t.Fatalf("finder pattern at (%d,%d) broken at (%d,%d)", ox, oy, x, y)
				}
			}
		}
	}
	finder(0, 0)
	finder(n-7, 0)
	finder(0, n-7)
	enc, err := qr.Encode(want, qr.M, qr.Auto)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Bounds().Dx() != n {
		t.Fatalf("the image is a QR code of %d modules, an encoding of %q has %d", n, want, enc.Bounds().Dx())
	}
	for y := range n {
		for x := range n {
			r, _, _, _ := enc.At(x, y).RGBA()
			if module(x, y) != (r == 0) {
				t.Fatalf("module (%d,%d) differs from an encoding of %q", x, y, want)
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
