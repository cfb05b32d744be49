package portal

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/boombuler/barcode/qr"

	"github.com/ehrchain/ehrchain/internal/netlimit"
	"github.com/ehrchain/ehrchain/internal/supply"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// The verification pages are public: a patient or pharmacist checks a pack without an
// identity on the ledger. Each check is one unsigned GET /epcis/verify, made in-process
// for the browser's address (netlimit.ForClient) so that the API's per-client limit
// applies to the page as to the endpoint, and its answer is checked against the node's
// app hash before it is shown.

// VerifyPath is the public verification page. A GS1 Digital Link whose path begins with
// it (https://<portal host>/portal/verify/01/<GTIN>/10/<lot>/21/<serial>?17=<YYMMDD>) is a
// valid Digital Link and opens the page when a phone scans the pack's QR code.
const VerifyPath = Prefix + "verify"

// verifyPage is what the page template gets.
type verifyPage struct {
	Code                      string // the code as entered or scanned
	GTIN, Serial, Lot, Expiry string // the fields as entered
	Result                    *verifyResult
}

// verifyResult is a checked answer as the page shows it.
type verifyResult struct {
	Answer, Title, Advice, Detail string
	Code                          supply.Code
	ExpiryDate                    string // YYYY-MM-DD of the code's expiry, if it has one
	Height                        int64
	AppHash                       string
	Link                          string // this portal's Digital Link of the pack
	QR                            string // the QR code image's URL, for a pack on the ledger
}

// answerText is what each answer tells the person holding the pack.
var answerText = map[string][2]string{
	supply.AnswerGenuine:   {"Genuine", "This pack was made by the company that owns its product code, and every step of its way here is on the ledger."},
	supply.AnswerUnknown:   {"Unknown", "No pack with this product code and serial number is on the ledger. Check that you typed the code as printed; if it is right, do not use the pack and show it to your pharmacist."},
	supply.AnswerSuspect:   {"Suspect", "Do not use this pack. Its supply chain shows a problem (a copied serial number, a pack that was never shipped, ...). Keep it and show it to your pharmacist."},
	supply.AnswerRecalled:  {"Recalled", "Do not use this pack: its manufacturer has recalled it. Keep it and ask your pharmacy or doctor what to do."},
	supply.AnswerExpired:   {"Expired", "Do not use this pack: it is past its expiry date."},
	supply.AnswerDispensed: {"Already dispensed", "A pharmacy has already handed this pack to a patient. If that was you, nothing is wrong; if you got it any other way, it may be a copy: show it to your pharmacist."},
}

func (p *Portal) routeVerify() {
	p.mux.HandleFunc("GET "+VerifyPath, p.verifyPage)
	p.mux.HandleFunc("GET "+VerifyPath+"/qr", p.verifyQR)
	p.mux.HandleFunc("GET "+VerifyPath+"/{link...}", p.verifyPage) // a scanned Digital Link
}

// codeOf reads the code a request names: a Digital Link in the path (scanned), code= (a
// Digital Link or element string, typed or from a scanner), or the separate fields.
// raw is "" when the request names none (the empty form).
func codeOf(r *http.Request) (raw string, c supply.Code, err error) {
	q := r.URL.Query()
	switch {
	case r.PathValue("link") != "":
		// The request URL is itself the Digital Link; its host does not matter.
		raw = "https://portal.invalid" + r.URL.EscapedPath()
		if r.URL.RawQuery != "" {
			raw += "?" + r.URL.RawQuery
		}
	case strings.TrimSpace(q.Get("code")) != "":
		raw = strings.TrimSpace(q.Get("code"))
	case q.Get("gtin") != "" || q.Get("serial") != "":
		raw = "(01)" + strings.TrimSpace(q.Get("gtin")) + "(21)" + strings.TrimSpace(q.Get("serial"))
		if lot := strings.TrimSpace(q.Get("lot")); lot != "" {
			raw += "(10)" + lot
		}
		if exp := expiryAI(q.Get("expiry")); exp != "" {
			raw += "(17)" + exp
		}
	default:
		return "", supply.Code{}, nil
	}
	c, err = supply.ParseCode(raw)
	return raw, c, err
}

// expiryAI is an expiry as AI 17 wants it (YYMMDD), from that or a date (YYYY-MM-DD).
func expiryAI(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == len("2006-01-02") && s[4] == '-' && s[7] == '-' {
		return s[2:4] + s[5:7] + s[8:10]
	}
	return s
}

func (p *Portal) verifyPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := verifyPage{Code: q.Get("code"), GTIN: q.Get("gtin"), Serial: q.Get("serial"), Lot: q.Get("lot"), Expiry: q.Get("expiry")}
	page := pageData{Title: "Check a medication pack", Data: &d}
	raw, code, err := codeOf(r)
	switch {
	case raw == "":
		p.render(w, r, http.StatusOK, "verify", nil, page)
		return
	case err != nil:
		page.Error = "This code cannot be checked: " + err.Error()
		p.render(w, r, http.StatusBadRequest, "verify", nil, page)
		return
	}
	if r.PathValue("link") != "" {
		d.Code = p.origin(r) + r.URL.RequestURI() // the link as scanned
	}
	res, appHash, err := p.provenVerify(r, code)
	var limited *rateLimited
	switch {
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", limited.retryAfter)
		page.Error = fmt.Sprintf("Too many checks from your address. Try again in %s seconds.", limited.retryAfter)
		p.render(w, r, http.StatusTooManyRequests, "verify", nil, page)
		return
	case err != nil:
		p.cfg.Logf("portal: verify %s: %v", code.ItemID(), err)
		page.Error = "The pack could not be checked: " + errText(err)
		p.render(w, r, http.StatusBadGateway, "verify", nil, page)
		return
	}
	text := answerText[res.Verdict.Answer]
	d.Result = &verifyResult{Answer: res.Verdict.Answer, Title: text[0], Advice: text[1], Detail: res.Verdict.Detail,
		Code: code, ExpiryDate: code.ExpiryDate(res.BlockTime), Height: res.Height, AppHash: hex.EncodeToString(appHash),
		Link: p.digitalLink(r, code)}
	if res.Public != nil { // a printable code only for a pack that was commissioned
		d.Result.QR = VerifyPath + "/qr?" + url.Values{"code": {d.Result.Link}}.Encode()
	}
	p.render(w, r, http.StatusOK, "verify", nil, page)
}

// digitalLink is the pack's GS1 Digital Link on this portal: scanning it opens the
// verification page for the pack.
func (p *Portal) digitalLink(r *http.Request, c supply.Code) string {
	s := p.origin(r) + VerifyPath + "/01/" + c.GTIN
	if c.Lot != "" {
		s += "/10/" + url.PathEscape(c.Lot)
	}
	s += "/21/" + url.PathEscape(c.Serial)
	if c.Expiry != "" {
		s += "?17=" + c.Expiry
	}
	return s
}

// origin is the scheme and host the browser reached the portal at.
func (p *Portal) origin(r *http.Request) string {
	if p.cfg.Secure || r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// rateLimited is the API's refusal of a browser over its allowance.
type rateLimited struct{ retryAfter string }

func (e *rateLimited) Error() string { return "rate limited; retry after " + e.retryAfter + " s" }

// provenVerify asks the API about code for the browser of r and checks the answer against
// the app hash of the node's status at the answer's height (asking again, a few times,
// when a block commits between the two requests).
func (p *Portal) provenVerify(r *http.Request, code supply.Code) (*wire.VerifyResponse, []byte, error) {
	ctx := netlimit.ForClient(r.Context(), r.RemoteAddr)
	var last error
	for range 4 {
		res, err := p.askVerify(ctx, code)
		if err != nil {
			return nil, nil, err
		}
		st, err := p.cl.Status(ctx)
		if err != nil {
			return nil, nil, err
		}
		if st.Height != res.Height {
			last = fmt.Errorf("the node moved from height %d to %d during the check", res.Height, st.Height)
			continue
		}
		appHash, err := hex.DecodeString(st.AppHash)
		if err != nil {
			return nil, nil, fmt.Errorf("the node's app hash %q: %w", st.AppHash, err)
		}
		if err := res.Verify(appHash); err != nil {
			return nil, nil, fmt.Errorf("the node's answer does not verify against its app hash %X: %w", appHash, err)
		}
		return res, appHash, nil
	}
	return nil, nil, last
}

// askVerify is one GET /epcis/verify, read with its headers (a refusal's Retry-After).
func (p *Portal) askVerify(ctx context.Context, code supply.Code) (*wire.VerifyResponse, error) {
	u := p.cl.Base + "/epcis/verify?" + url.Values{"code": {elementString(code)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.cl.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return nil, &rateLimited{retryAfter: resp.Header.Get("Retry-After")}
	}
	if resp.StatusCode != http.StatusOK {
		var e tx.Error
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			return nil, fmt.Errorf("%s (%s/%d)", e.Message, e.Codespace, e.Code)
		}
		return nil, fmt.Errorf("the node answered HTTP %d", resp.StatusCode)
	}
	var res wire.VerifyResponse
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("the node's answer: %w", err)
	}
	return &res, nil
}

// elementString is the code as a GS1 element string in parentheses.
func elementString(c supply.Code) string {
	s := "(01)" + c.GTIN + "(21)" + c.Serial
	if c.Lot != "" {
		s += "(10)" + c.Lot
	}
	if c.Expiry != "" {
		s += "(17)" + c.Expiry
	}
	return s
}

// verifyQR renders a pack's Digital Link on this portal as a QR code (PNG), for a pack
// that is on the ledger: code= names it in any form the page takes.
func (p *Portal) verifyQR(w http.ResponseWriter, r *http.Request) {
	code, err := supply.ParseCode(r.URL.Query().Get("code"))
	if err != nil {
		http.Error(w, "code= must name a pack: "+err.Error(), http.StatusBadRequest)
		return
	}
	res, _, err := p.provenVerify(r, code)
	var limited *rateLimited
	switch {
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", limited.retryAfter)
		http.Error(w, "too many requests from your address", http.StatusTooManyRequests)
		return
	case err != nil:
		http.Error(w, "the pack could not be checked: "+err.Error(), http.StatusBadGateway)
		return
	case res.Public == nil:
		http.Error(w, "no pack with this code was commissioned on the ledger", http.StatusNotFound)
		return
	}
	img, err := qrImage(p.digitalLink(r, code), qrModulePixels)
	if err != nil {
		http.Error(w, "cannot draw the QR code: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		http.Error(w, "cannot encode the QR code", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(b.Bytes())
}

// QR codes are drawn qrModulePixels to a module with the quiet zone of qrQuietModules
// modules the standard asks for around them, at error correction level M (15 % of the
// code may be lost to wear or a fold).
const (
	qrModulePixels = 8
	qrQuietModules = 4
)

// qrImage draws text as a QR code, black modules on white, quiet zone included.
func qrImage(text string, px int) (*image.Paletted, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	n := code.Bounds().Dx()
	size := (n + 2*qrQuietModules) * px
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	for y := range n {
		for x := range n {
			if c, _, _, _ := code.At(x, y).RGBA(); c != 0 {
				continue // white
			}
			x0, y0 := (x+qrQuietModules)*px, (y+qrQuietModules)*px
			for dy := range px {
				for dx := range px {
					img.SetColorIndex(x0+dx, y0+dy, 1)
				}
			}
		}
	}
	return img, nil
}
