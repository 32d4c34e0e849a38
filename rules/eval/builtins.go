package eval

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/leadq/leadq/internal/swar"
)

// NowVar is the hidden variable the engine sets to the evaluation clock.
// Calls like days_since(x) are rewritten to days_since(x, __now__) at
// compile time, so that tests and backtests can fix "now".
const NowVar = "__now__"

// clockFuncs are the functions rewritten to take the clock as a last argument.
var clockFuncs = map[string]bool{"days_since": true, "months_since": true, "years_since": true}

// funcNames lists the functions leadq adds to expr's builtins.
var funcNames = []string{"domain", "is_free_email", "days_since", "months_since", "years_since", "contains_any", "contains_all"}

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
	return ToLower(d)
}

// ToLower and ToUpper are strings.ToLower and strings.ToUpper, with a
// quick answer for the usual case, an ASCII string already in the wanted
// case, checked eight bytes at a time (strings' own check goes byte by
// byte): the conditions of every lead lower its industry and its email's
// domain.
func ToLower(s string) string {
	if asciiOutside(s, 'A', 'Z') {
		return s
	}
	return strings.ToLower(s)
}

func ToUpper(s string) string {
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

// DaysSince is days_since: whole days from t to now.
func DaysSince(t, now time.Time) int {
	return int(now.Sub(t).Hours() / 24)
}

// MonthsSince is months_since: whole months from t to now.
func MonthsSince(t, now time.Time) int {
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

// funcOptions registers leadq's functions with their signatures, so that the
// checker rejects wrong argument types at load time.
var funcOptions = []expr.Option{
	expr.Function("domain", func(p ...any) (any, error) { return Domain(p[0].(string)), nil }, new(func(string) string)),
	expr.Function("is_free_email", func(p ...any) (any, error) { return IsFreeEmail(p[0].(string)), nil }, new(func(string) bool)),
	expr.Function("days_since", clockFunc(DaysSince), new(func(time.Time, time.Time) int)),
	expr.Function("months_since", clockFunc(MonthsSince), new(func(time.Time, time.Time) int)),
	expr.Function("years_since", clockFunc(func(t, now time.Time) int { return MonthsSince(t, now) / 12 }), new(func(time.Time, time.Time) int)),
	expr.Function("contains_any", setTest(false),
		new(func([]string, []any) bool), new(func([]string, []string) bool), new(func([]any, []any) bool), new(func([]any, []string) bool)),
	expr.Function("contains_all", setTest(true),
		new(func([]string, []any) bool), new(func([]string, []string) bool), new(func([]any, []any) bool), new(func([]any, []string) bool)),
}

// ExprOptions registers leadq's functions with expr, for the checker and
// the compiler.
func ExprOptions() []expr.Option { return slices.Clone(funcOptions) }

// FuncNames lists the functions leadq adds to expr's builtins.
func FuncNames() []string { return slices.Clone(funcNames) }

// IsFunc reports whether name is one of leadq's functions.
func IsFunc(name string) bool { return slices.Contains(funcNames, name) }

// IsClockFunc reports whether calls of name take the clock as a hidden
// last argument (see NowVar).
func IsClockFunc(name string) bool { return clockFuncs[name] }

// IsFreeMailDomain reports whether a lower-cased domain is a free-mail
// provider's.
func IsFreeMailDomain(d string) bool { return freeMailDomains[d] }

// ContainsFolded returns contains_any (all false) or contains_all (all
// true) of a constant list want, as a test of the lead's list.
func ContainsFolded(want []string, all bool) func(have []string) bool {
	if set := newFoldSet(want); set != nil {
		return func(have []string) bool { return set.test(have, all) }
	}
	return func(have []string) bool { return containsFold(have, want, all) }
}
