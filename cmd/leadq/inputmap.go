package main

import (
	"fmt"
	"strings"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/rules/rulefile"
	"github.com/leadq/leadq/server"
)

// inputMapOptions turns leadq serve's --input-map NAME=FILE and
// --ruleset-map RULESET=NAME flags into the server's option: the mapping
// files backtest reads, with JSON paths into the payload.
func inputMapOptions(maps, byRuleset []string) ([]server.Option, error) {
	if len(maps) == 0 && len(byRuleset) == 0 {
		return nil, nil
	}
	named := map[string]server.InputMapper{}
	for _, spec := range maps {
		name, file, ok := strings.Cut(spec, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || file == "" {
			return nil, &usageError{fmt.Errorf("--input-map %q: expected NAME=FILE, like hubspot=examples/crm/hubspot.yaml", spec)}
		}
		if name == "none" {
			return nil, &usageError{fmt.Errorf("--input-map %q: none is the name of no map (?map=none); choose another", spec)}
		}
		src, err := rulefile.ReadFile(file, nil)
		if err != nil {
			return nil, &usageError{fmt.Errorf("--input-map %s: %w", spec, unwrapPathErr(err))}
		}
		m, err := backtest.ParseMapping(file, src)
		if err != nil {
			return nil, err
		}
		named[name] = m
	}
	rulesets := map[string]string{}
	for _, spec := range byRuleset {
		rs, name, ok := strings.Cut(spec, "=")
		if !ok || strings.TrimSpace(rs) == "" || strings.TrimSpace(name) == "" {
			return nil, &usageError{fmt.Errorf("--ruleset-map %q: expected RULESET=MAP, like b2b-saas=hubspot", spec)}
		}
		rulesets[strings.TrimSpace(rs)] = strings.TrimSpace(name)
	}
	return []server.Option{server.WithInputMaps(named, rulesets)}, nil
}
