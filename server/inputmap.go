package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/leadq/leadq/rules"
)

// InputMapper turns a payload in a CRM's own shape (a HubSpot contact, a
// Salesforce Lead) into leadq's scoring input, {"id", "lead", "account"}.
// *backtest.Mapping, read from the mapping file backtest reads, is one.
type InputMapper interface {
	Request(payload map[string]any) map[string]any
}

// WithInputMaps lets requests be sent in other shapes: ?map=NAME maps a
// request with maps[NAME] before it is scored; a request that names no
// map is mapped with maps[byRuleset[ruleset]] when its ruleset has one
// (?map=none sends it as it is). Decisions are logged with the mapped
// request, so that re-explaining them needs no map.
func WithInputMaps(maps map[string]InputMapper, byRuleset map[string]string) Option {
	return func(s *Server) { s.inputMaps, s.rulesetMaps = maps, byRuleset }
}

// noMap is the ?map= value that turns a ruleset's map off for a request.
const noMap = "none"

// checkMaps refuses a ruleset map that names no map; New calls it.
func (s *Server) checkMaps() error {
	for rs, name := range s.rulesetMaps {
		if _, ok := s.inputMaps[name]; !ok {
			return fmt.Errorf("ruleset %s: no input map %q (have %s)", rs, name, strings.Join(s.mapNames(), ", "))
		}
	}
	return nil
}

func (s *Server) mapNames() []string {
	names := make([]string, 0, len(s.inputMaps))
	for n := range s.inputMaps {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// mapper is the input map of a request: the one it names, else its
// ruleset's, else nil.
func (s *Server) mapper(rs *rules.Ruleset, q query) (InputMapper, error) {
	name := q.inputMap
	switch name {
	case noMap:
		return nil, nil
	case "":
		name = s.rulesetMaps[rs.Name]
		if name == "" {
			return nil, nil
		}
	}
	m, ok := s.inputMaps[name]
	if !ok {
		msg := "no input map of that name"
		if len(s.inputMaps) > 0 {
			msg += "; this server has " + strings.Join(s.mapNames(), ", ")
		}
		return nil, &httpError{status: http.StatusBadRequest, code: "bad_parameter", msg: fmt.Sprintf("map=%q: %s", name, msg),
			details: []any{paramError{"map", "the name of an input map given to leadq serve --input-map NAME=FILE, or none"}}}
	}
	return m, nil
}

// mapInput returns the request to score: data itself, or data mapped by
// the request's input map. A payload that is not a JSON object is left
// for the engine to refuse.
func (s *Server) mapInput(rs *rules.Ruleset, q query, data []byte) ([]byte, error) {
	m, err := s.mapper(rs, q)
	if m == nil || err != nil {
		return data, err
	}
	doc, ok := decodeObject(data)
	if !ok {
		return data, nil
	}
	return json.Marshal(m.Request(doc))
}
