package eval

import (
	"errors"
	"strings"
	"time"

	"github.com/leadq/leadq/internal/swar"
)

// NowVar is the hidden variable the engine sets to the evaluation clock.
// Calls like days_since(x) are rewritten to days_since(x, __now__) at
// compile time, so that tests and backtests can fix "now".
const NowVar = "__now__"

// freeMailDomains are consumer mail providers: an address there says nothing
// about the lead's company.
var freeMailDomains = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "yahoo.com": true, "yahoo.co.uk": true, "ymail.com": true,
	"hotmail.com": true, "hotmail.co.uk": true, "outlook.com": true, "live.com": true, "msn.com": true,
	"aol.com": true, "icloud.com": true, "me.com": true, "mac.com": true, "proton.me": true,
	"protonmail.com": true, "gmx.com": true, "gmx.de": true, "gmx.net": true, "web.de": true,
	"mail.com": true, "yandex.com": true, "yandex.ru": true, "mail.ru": true, "zoho.com": true,
	"qq.com": true, "163.com": true, "126.com": true, "rediffmail.com": true, "fastmail.com": true,
	"hey.com": true, "tutanota.com": true, "laposte.net": true, "orange.fr": true, "free.fr": true,
	"libero.it": true, "t-online.de": true, "comcast.net": true, "verizon.net": true, "att.net": true,
}

// Domain returns the lower-cased part of an email address after the last @,
// or "" when there is none.
func Domain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	d := email[i+1:]
	if len(d) > 0 && (d[0] <= ' ' || d[len(d)-1] <= ' ' || d[0] >= 0x80 || d[len(d)-1] >= 0x80) {
		d = strings.TrimSpace(d) // most addresses have no space to trim
	}
	return toLower(d)
}

// toLower and toUpper are strings.ToLower and strings.ToUpper, with a
// quick answer for the usual case, an ASCII string already in the wanted
// case, checked eight bytes at a time (strings' own check goes byte by
// byte): the conditions of every lead lower its industry and its email's
// domain.
func toLower(s string) string {
	if asciiOutside(s, 'A', 'Z') {
		return s
	}
	return strings.ToLower(s)
}

func toUpper(s string) string {
	if asciiOutside(s, 'a', 'z') {
		return s
	}
	return strings.ToUpper(s)
}

// asciiOutside reports whether s is ASCII without a byte in [lo, hi].
func asciiOutside(s string, lo, hi byte) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := swar.LoadString(s, i)
		if !swar.ASCII(x) || swar.InRange(x, lo, hi) != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || lo <= c && c <= hi {
			return false
		}
	}
	return true
}

// IsFreeEmail reports whether the address is at a free-mail provider.
func IsFreeEmail(email string) bool {
	return freeMailDomains[Domain(email)]
}

// daysSince is days_since: whole days from t to now.
func daysSince(t, now time.Time) int {
	return int(now.Sub(t).Hours() / 24)
}

// monthsSince is months_since: whole months from t to now.
func monthsSince(t, now time.Time) int {
	m := (now.Year()-t.Year())*12 + int(now.Month()) - int(t.Month())
	if now.Day() < t.Day() {
		m--
	}
	return m
}

var errArgs = errors.New("wrong arguments")

func toStrings(v any) ([]string, bool) {
	switch v := v.(type) {
	case []string:
		return v, true
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	case nil:
		return nil, true
	}
	return nil, false
}

func setTest(all bool) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		a, ok1 := toStrings(params[0])
		b, ok2 := toStrings(params[1])
		if !ok1 || !ok2 {
			return nil, errArgs
		}
		return containsFold(a, b, all), nil
	}
}

// containsFold is contains_any (all false) and contains_all (all true):
// whether have holds some, or every, entry of want, ignoring case as
// strings.EqualFold does. Native code uses it for lists a foldSet cannot
// hold, and FuzzFoldSet holds foldSet to it.
func containsFold(have, want []string, all bool) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.EqualFold(h, w) {
				found = true
				break
			}
		}
		if found != all {
			return found
		}
	}
	return all
}

// yearsSince is years_since: whole years from t to now.
func yearsSince(t, now time.Time) int { return monthsSince(t, now) / 12 }

func clockFunc(f func(t, now time.Time) int) func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		t, ok1 := params[0].(time.Time)
		now, ok2 := params[1].(time.Time)
		if !ok1 || !ok2 {
			return nil, errArgs
		}
		return f(t, now), nil
	}
}
