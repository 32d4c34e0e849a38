// Package freemail holds the free-mail provider domains that leadq's
// is_free_email() knows (rules/eval/builtins.go), for the engines the benchmark
// compares leadq with. A test in the bench package checks the copy against
// leadq itself.
package freemail

// Domains are the consumer mail providers, lower case.
var Domains = []string{
	"gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com",
	"hotmail.com", "hotmail.co.uk", "outlook.com", "live.com", "msn.com",
	"aol.com", "icloud.com", "me.com", "mac.com", "proton.me",
	"protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de",
	"mail.com", "yandex.com", "yandex.ru", "mail.ru", "zoho.com",
	"qq.com", "163.com", "126.com", "rediffmail.com", "fastmail.com",
	"hey.com", "tutanota.com", "laposte.net", "orange.fr", "free.fr",
	"libero.it", "t-online.de", "comcast.net", "verizon.net", "att.net",
}

var set = func() map[string]bool {
	m := make(map[string]bool, len(Domains))
	for _, d := range Domains {
		m[d] = true
	}
	return m
}()

// Is reports whether domain (already lower case) is a free-mail provider.
func Is(domain string) bool { return set[domain] }
