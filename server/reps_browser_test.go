package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/leadq/leadq/server"
)

// chromium finds a Chromium or Chrome binary, or returns "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser starts a headless Chromium for one test; only 127.0.0.1 is
// visited.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium binary (Debian package chromium): the reps page is not tested in a browser")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 1600),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(func() { cancel(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// page reads and drives the page of one test, failing the test on error.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

// text is the rendered text of the first element matching a CSS selector.
func (p page) text(css string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

func (p page) eval(js string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("%s: %v", js, err)
	}
	return s
}

// screenshot saves the page to $LEADQ_SCREENSHOT_DIR/name.png when set, so
// that people can look at it.
func (p page) screenshot(name string) {
	p.t.Helper()
	dir := os.Getenv("LEADQ_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// contains fails the test unless got has every one of want.
func contains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q; want it to contain %q", what, got, w)
		}
	}
}

// TestRepsPageInBrowser drives the reps' page as a rep would, with the
// keyboard where a rep would use it: search a lead, read its verdict, ask
// whether it would qualify today, and score an edited lead.
func TestRepsPageInBrowser(t *testing.T) {
	p := page{t, browser(t)}
	ts, l := repsServer(t)
	for _, name := range []string{"missing-firmographics", "vp-fintech", "missing-firmographics"} {
		if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas", readFile(t, "testdata/leads/"+name+".json"), nil); code != 200 {
			t.Fatalf("score %s: status %d", name, code)
		}
	}
	flush(t, l)

	p.do(chromedp.Navigate(ts.URL+"/reps/"), chromedp.WaitVisible(chromedp.ID("q")), chromedp.KeyEvent("\t"))
	contains(t, "first focus", p.eval(`document.activeElement.textContent`), "Skip to the lead search")
	if unlabelled := p.eval(`[...document.querySelectorAll("input, textarea, select")].filter(e => e.labels.length === 0).map(e => e.id).join(",")`); unlabelled != "" {
		t.Errorf("form fields without a label: %s", unlabelled)
	}
	contains(t, "headings", p.eval(`[...document.querySelectorAll("h1, h2")].map(h => h.tagName + " " + h.textContent).join(" | ")`),
		"H1 Why this lead?", "H2 Find a lead", "H2 Score a lead now")
	if live := p.eval(`[...document.querySelectorAll("[aria-live]")].map(e => e.id).join(",")`); live != "find-status,try-status" {
		t.Errorf("live regions = %q; want the two status lines", live)
	}

	p.do(chromedp.Focus(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "00Q5e00004PqRsT\r"), // Enter submits
		chromedp.WaitVisible(chromedp.CSS("#find-results .decision .verdict")))
	contains(t, "status", p.text("#find-status"), "Found 2 decisions about 00Q5e00004PqRsT")
	contains(t, "address after a search", p.eval(`location.search`), "?q=00Q5e00004PqRsT")
	// Local time on the page, UTC on hover.
	contains(t, "time's hover", p.eval(`document.querySelector("#find-results .meta time").title`), " UTC")
	if dt := p.eval(`document.querySelector("#find-results .meta time").getAttribute("datetime")`); !strings.HasSuffix(dt, "Z") {
		t.Errorf("time datetime = %q; want an ISO time in UTC", dt)
	}
	// The preview follows the decision on screen.
	if rs := p.eval(`document.getElementById("ruleset").value`); rs != "b2b-saas" {
		t.Errorf("ruleset to score with = %q; want b2b-saas, the ruleset of the decision on screen", rs)
	}
	contains(t, "verdict", p.text("#find-results .decision .verdict"), "Not qualified", "Tier C", "score 43")
	contains(t, "explanation", p.text("#find-results .decision .parts"), "What counted for it",
		"Marketing Manager (manager) influences the purchase", "What it would take to qualify", "Requested a demo",
		"Missing data", "Employees",
		// The engine's counterfactual: real points under the engagement cap,
		// towards tier B (tier C does not qualify).
		"12 more points would make it tier B, which qualifies", "This change alone would qualify it",
		// A change of the lead's data: the field, the value, what it has
		// now, and the rules it makes true.
		"+20\nlead.trial_started: yes (unknown: ask the lead or enrich) \u2014 makes true: Started a free trial",
		"unknown: ask the lead or enrich (Industry)") // the field's label, from GET /v1/rulesets
	if got := p.text("#find-results .decision .parts"); strings.Contains(got, "lead.employees") || strings.Contains(got, "lead.industry") {
		t.Errorf("explanation names a labelled field by its name:\n%s", got)
	}
	contains(t, "history", p.text("#find-results .history"), "All decisions about this lead", "Show")
	p.screenshot("reps-search")

	p.do(chromedp.Click(chromedp.JSPath(`[...document.querySelectorAll("#find-results button")].find(b => b.textContent === "Would it qualify today?")`)),
		chromedp.WaitVisible(chromedp.CSS("#find-results .today")))
	contains(t, "today", p.text("#find-results .today h4"), "Today: tier C, score 43", "It would still not qualify today.")
	if focused := p.eval(`document.activeElement.closest(".today") !== null ? "today" : document.activeElement.tagName`); focused != "today" {
		t.Errorf("focus after re-explaining is on %s; want today's verdict, so that screen readers read it", focused)
	}

	contact := `{"id": "00Q-polder", "lead": {"email": "eva.jansen@polderverzekering.example", "company": "Polder Verzekering", "title": "VP Finance",
  "seniority": "vp", "employees": 2000, "industry": "insurance", "country": "NL"}}`
	p.do(chromedp.Click(chromedp.JSPath(`[...document.querySelectorAll("#find-results button")].find(b => b.textContent === "Edit and score this lead")`)))
	contains(t, "edited lead", p.eval(`document.getElementById("lead").value`), `"00Q5e00004PqRsT"`, `"Brightpath"`)
	if focused := p.eval(`document.activeElement.id`); focused != "lead" {
		t.Errorf("focus after Edit is on %q; want the lead's JSON", focused)
	}
	p.do(chromedp.SetValue(chromedp.ID("lead"), contact),
		chromedp.Click(chromedp.CSS("#try-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#try-result .decision")))
	contains(t, "try status", p.text("#try-status"), "Not qualified")
	contains(t, "try result", p.text("#try-result .decision"), "Account found from the email domain: Polder Verzekering",
		"What rejected it", "Polder Verzekering is already a customer", "It cannot qualify while a knockout applies: clear existing-customer first.")
	if got := p.text("#try-result .decision"); strings.Contains(got, "Missing data") || strings.Contains(got, "would add") {
		t.Errorf("a knocked-out lead's explanation = %q; want only its knockouts, no data to enrich or points to add", got)
	}
	p.screenshot("reps-try")

	// A logged decision made with a resolved account says so.
	if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas", contact, nil); code != 200 {
		t.Fatalf("score: status %d", code)
	}
	flush(t, l)
	p.do(chromedp.SetValue(chromedp.ID("q"), "Eva.Jansen@polderverzekering.example"),
		chromedp.Click(chromedp.CSS("#find-form button[type=submit]")))
	// The previous result is on the page until the new one replaces it.
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](`document.getElementById("find-status").textContent.includes("Eva.Jansen")`)); err != nil {
		t.Fatal(err)
	}
	contains(t, "logged decision with an account", p.text("#find-results .decision"),
		"lead 00Q-polder", "Account found from the email domain: Polder Verzekering", "What rejected it")

	p.do(chromedp.SetValue(chromedp.ID("lead"), `{"lead": {"employees": 12,}}`),
		chromedp.Click(chromedp.CSS("#try-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#try-status.error")))
	contains(t, "bad JSON", p.text("#try-status"), "That is not valid JSON")
}

// TestRepsPageSearch: a rep finds leads by what they have at hand, shares
// the address, and reads the page on a phone (390 px) and a laptop
// (1300 px) without scrolling sideways.
func TestRepsPageSearch(t *testing.T) {
	p := page{t, browser(t)}
	ts, l := repsServer(t)
	long := `{"id": "00Q-long", "lead": {"email": "maximiliana.vandenberghe-oppenheimer.procurement@verylongsubsidiaryname-international-holdings.example",
  "company": "Verylongsubsidiaryname International Holdings", "employees": 30, "country": "NL"}}`
	for _, req := range []string{readFile(t, "testdata/leads/vp-fintech.json"), readFile(t, "testdata/leads/vp-fintech.json"),
		readFile(t, "testdata/leads/missing-firmographics.json"), long,
		`{"id": "00Q-bo", "lead": {"email": "bo@northbank.example", "company": "Northbank", "employees": 400, "country": "US"}}`} {
		if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas", req, nil); code != 200 {
			t.Fatalf("score: status %d", code)
		}
	}
	flush(t, l)
	for _, width := range []int64{390, 1300} {
		p.do(chromedp.EmulateViewport(width, 900))
		p.do(chromedp.Navigate(ts.URL+"/reps/"), chromedp.WaitVisible(chromedp.ID("q")))
		// A company name in another case: two leads of Northbank.
		p.do(chromedp.SendKeys(chromedp.ID("q"), "northBANK\r"), chromedp.WaitVisible(chromedp.CSS("#find-results .lead-list")))
		contains(t, "status", p.text("#find-status"), "Found 2 leads matching northBANK")
		contains(t, "leads", p.text("#find-results .lead-list"), "00Q5e00001AbCdE", "00Q-bo", "bo@northbank.example")
		contains(t, "address", p.eval(`location.search`), "?q=northBANK")
		p.screenshot(fmt.Sprintf("reps-leads-%d", width))
		// Choosing one searches for it: its own address.
		p.do(chromedp.Click(chromedp.JSPath(`[...document.querySelectorAll("#find-results .lead-list button")].find(b => b.textContent === "00Q5e00001AbCdE")`)),
			chromedp.WaitVisible(chromedp.CSS("#find-results .history")))
		contains(t, "address after choosing", p.eval(`location.search`), "?q=00Q5e00001AbCdE")
		contains(t, "chosen lead", p.text("#find-status"), "Found 2 decisions about 00Q5e00001AbCdE")
		noOverflow(t, p, width, "a lead with its history")
		p.screenshot(fmt.Sprintf("reps-history-%d", width))
		// Back: the previous search again.
		p.do(chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS("#find-results .lead-list")))
		if q := p.eval(`document.getElementById("q").value`); q != "northBANK" {
			t.Errorf("search box after Back = %q; want northBANK", q)
		}
		// The start of an email; a long email and company wrap.
		p.do(chromedp.SetValue(chromedp.ID("q"), "Maximiliana.vanden"), chromedp.Click(chromedp.CSS("#find-form button[type=submit]")))
		if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](`document.getElementById("find-status").textContent.includes("Found 1 decision about Maximiliana")`)); err != nil {
			t.Fatal(err)
		}
		contains(t, "long lead", p.text("#find-results .decision"), "lead 00Q-long")
		noOverflow(t, p, width, "a lead with a long email")
		p.screenshot(fmt.Sprintf("reps-long-%d", width))
		// A shared link opens the search.
		p.do(chromedp.Navigate(ts.URL+"/reps/?q=ana.silva"), chromedp.WaitVisible(chromedp.CSS("#find-results .decision .verdict")))
		contains(t, "shared link", p.text("#find-status"), "Found 2 decisions about ana.silva")
	}
}

// noOverflow fails the test if the page, or any element in it, is wider
// than the window: nothing may need a sideways scroll but the history
// table inside its own box.
func noOverflow(t *testing.T, p page, width int64, what string) {
	t.Helper()
	got := p.eval(`(() => {
  const w = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > w) out.push("page " + document.documentElement.scrollWidth + "px");
  for (const e of document.querySelectorAll("main *")) {
    if (e.closest(".scroll") && !e.classList.contains("scroll")) continue;
    const r = e.getBoundingClientRect();
    if (r.width && r.right > w + 0.5) out.push((e.id || e.className || e.tagName) + " ends at " + Math.round(r.right) + "px");
  }
  return out.slice(0, 5).join("; ");
})()`)
	if got != "" {
		t.Errorf("at %d px, %s overflows the window: %s", width, what, got)
	}
}

// TestRepsPageToken: on a server with a token, the page asks for it when
// the API refuses, then works with it.
func TestRepsPageToken(t *testing.T) {
	p := page{t, browser(t)}
	ts, l := repsServer(t, server.WithToken("s3cret-t0ken"))
	req := `{"id": "T-1", "lead": {"email": "kim@acme.example", "employees": 50, "country": "US"}}`
	if code := callAuth(t, ts, "POST", "/v1/score?ruleset=b2b-saas", req, "s3cret-t0ken"); code != 200 {
		t.Fatalf("score: status %d", code)
	}
	flush(t, l)
	p.do(chromedp.Navigate(ts.URL+"/reps/?q=T-1"), // a link from the CRM
		chromedp.WaitVisible(chromedp.ID("settings")))
	// The settings show on the first refused call, which may be the page's
	// own ruleset list before the search: wait for the search's status.
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](`document.getElementById("find-status").textContent.includes("needs an API token")`)); err != nil {
		t.Fatalf("status without a token: %v; it says %q", err, p.text("#find-status"))
	}
	p.do(chromedp.SendKeys(chromedp.ID("token"), "s3cret-t0ken\r"),
		chromedp.WaitNotVisible(chromedp.ID("settings")),
		chromedp.SendKeys(chromedp.ID("q"), "\r"),
		chromedp.WaitVisible(chromedp.CSS("#find-results .decision .verdict")))
	contains(t, "verdict with the token", p.text("#find-results .decision .verdict"), "lead T-1")
}
