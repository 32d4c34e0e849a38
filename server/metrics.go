package server

import (
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/leadq/leadq/engine"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metrics are the server's Prometheus series. The reload series are read
// from Engine.Status at scrape time, so they can never disagree with
// /v1/rulesets and the engine needs no metrics of its own.
type metrics struct {
	latency   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	hits      *prometheus.CounterVec
	refusals  *prometheus.CounterVec

	// The counters of decided, found once per label set: WithLabelValues
	// hashes and locks on every call, and a decision bumps a dozen.
	decisionCounters counterCache[decisionKey]
	hitCounters      counterCache[hitKey]
}

type decisionKey struct {
	ruleset, tier string
	qualified     bool
}

type hitKey struct{ ruleset, rule string }

func newMetrics(reg prometheus.Registerer, eng *engine.Engine) (*metrics, error) {
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "leadq_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route, method and status code; a stream counts as one request.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "code"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadq_decisions_total",
			Help: "Leads decided, by ruleset, tier and qualified.",
		}, []string{"ruleset", "tier", "qualified"}),
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadq_rule_hits_total",
			Help: "Times a knockout or score rule fired, by ruleset and rule id.",
		}, []string{"ruleset", "rule"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadq_leads_refused_total",
			Help: "Leads that could not be decided (malformed, strict mode, unknown ruleset...), by error code; includes batch items and stream lines.",
		}, []string{"code"}),
	}
	for _, c := range []prometheus.Collector{m.latency, m.decisions, m.hits, m.refusals, &reloadCollector{eng: eng}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// decided counts one decision and the rules that fired in it.
func (m *metrics) decided(d *engine.Decision) {
	m.decision(decisionKey{d.Ruleset.Name, d.Tier, d.Qualified}, 1)
	for i := range d.Knockouts {
		m.hit(d.Ruleset.Name, d.Knockouts[i].Rule)
	}
	for i := range d.Matched {
		m.hit(d.Ruleset.Name, d.Matched[i].Rule)
	}
}

// tally counts decisions and rule hits where many are decided at once (a
// batch, a chunk of a stream), to add them to the shared counters once:
// each decision counted there costs a dozen label lookups and atomic adds
// that the cores contend for. Not safe for concurrent use; nil counts
// straight into the shared counters.
type tally struct {
	decisions []decisionCount // few: a ruleset's tiers, qualified or not
	hits      []hitCount
	// slots finds a rule's entry in hits by its ruleset and id: open
	// addressing on ruleHash, hits[slots[i]-1], 0 for empty, at most half
	// full. Cheaper than a map, which hashes both strings whole.
	slots []int32
}

type decisionCount struct {
	key decisionKey
	n   int
}

type hitCount struct {
	rule, ruleset string
	n             int
}

func (t *tally) add(m *metrics, d *engine.Decision) {
	if t == nil {
		m.decided(d)
		return
	}
	t.addDecision(decisionKey{d.Ruleset.Name, d.Tier, d.Qualified})
	for _, hits := range [][]engine.Hit{d.Knockouts, d.Matched} {
		for i := range hits {
			t.hit(hits[i].Rule, d.Ruleset.Name)
		}
	}
}

// hit counts one hit of rule in ruleset.
func (t *tally) hit(rule, ruleset string) {
	if 2*(len(t.hits)+1) > len(t.slots) {
		t.grow()
	}
	mask := len(t.slots) - 1
	for i := ruleHash(rule, mask); ; i = (i + 1) & mask {
		switch j := t.slots[i]; {
		case j == 0:
			t.hits = append(t.hits, hitCount{rule: rule, ruleset: ruleset, n: 1})
			t.slots[i] = int32(len(t.hits))
			return
		case t.hits[j-1].rule == rule && t.hits[j-1].ruleset == ruleset:
			t.hits[j-1].n++
			return
		}
	}
}

// grow doubles slots (64 at first) and places the hits again.
func (t *tally) grow() {
	t.slots = make([]int32, max(64, 2*len(t.slots)))
	mask := len(t.slots) - 1
	for j := range t.hits {
		i := ruleHash(t.hits[j].rule, mask)
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = int32(j + 1)
	}
}

// ruleHash spreads a rule id over a power-of-two table: its length and
// its first and last eight bytes (ids of one ruleset differ in one or the
// other), Fibonacci-hashed; equal ids are told apart by comparing them.
func ruleHash(rule string, mask int) int {
	h := uint64(len(rule))
	if len(rule) >= 8 {
		h ^= le64(rule[:8]) ^ le64(rule[len(rule)-8:])<<1
	} else {
		for i := 0; i < len(rule); i++ {
			h = h<<8 | uint64(rule[i])
		}
	}
	return int((h*0x9e3779b97f4a7c15)>>32) & mask
}

// le64 reads the first eight bytes of s as a little-endian word.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// addDecision counts one decision of key: a scan of a few entries whose
// strings are the ruleset's own, compared by pointer first, costs less
// than hashing them.
func (t *tally) addDecision(k decisionKey) {
	for i := range t.decisions {
		if t.decisions[i].key == k {
			t.decisions[i].n++
			return
		}
	}
	t.decisions = append(t.decisions, decisionCount{k, 1})
}

// flush adds what t counted to the shared counters and empties it.
func (t *tally) flush(m *metrics) {
	if t == nil {
		return
	}
	for _, dc := range t.decisions {
		m.decision(dc.key, dc.n)
	}
	for _, c := range t.hits {
		m.hitN(c.ruleset, c.rule, c.n)
	}
	t.decisions = t.decisions[:0]
	clear(t.hits) // drop the strings of decisions
	t.hits = t.hits[:0]
	clear(t.slots)
}

func (m *metrics) hit(ruleset, rule string) { m.hitN(ruleset, rule, 1) }

func (m *metrics) hitN(ruleset, rule string, n int) {
	k := hitKey{ruleset, rule}
	m.hitCounters.get(k, func() prometheus.Counter { return m.hits.WithLabelValues(k.ruleset, k.rule) }).Add(float64(n))
}

func (m *metrics) decision(dk decisionKey, n int) {
	m.decisionCounters.get(dk, func() prometheus.Counter {
		return m.decisions.WithLabelValues(dk.ruleset, dk.tier, strconv.FormatBool(dk.qualified))
	}).Add(float64(n))
}

// counterCache maps label sets to their counters. Reads take no lock and
// hash like a plain Go map (a sync.Map hashed these keys through an
// interface, slower than the lookup it saved); a new label set copies the
// map, which happens once per rule and ruleset.
type counterCache[K comparable] struct {
	m  atomic.Pointer[map[K]prometheus.Counter]
	mu sync.Mutex
}

func (c *counterCache[K]) get(k K, newCounter func() prometheus.Counter) prometheus.Counter {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[K]prometheus.Counter{}
	if old := c.m.Load(); old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
		next = maps.Clone(*old)
	}
	v := newCounter()
	next[k] = v
	c.m.Store(&next)
	return v
}

// refused counts a lead that got an error instead of a decision.
func (m *metrics) refused(code string) { m.refusals.WithLabelValues(code).Inc() }

var (
	descReloadOK = prometheus.NewDesc("leadq_rules_last_reload_successful",
		"Whether the last reload of the rules succeeded (1) or failed (0); after a failure the last good rulesets still serve.", nil, nil)
	descReloadTime = prometheus.NewDesc("leadq_rules_last_reload_success_timestamp_seconds",
		"Unix time of the last successful reload; 0 before the first.", nil, nil)
	descReloads = prometheus.NewDesc("leadq_rules_reloads_total",
		"Reload attempts (startup, file changes, SIGHUP, POST /-/reload).", nil, nil)
	descFailures = prometheus.NewDesc("leadq_rules_reload_failures_total",
		"Reload attempts that failed.", nil, nil)
	descReady = prometheus.NewDesc("leadq_rules_ready",
		"1 once every ruleset has compiled once (what /readyz reports).", nil, nil)
	descInfo = prometheus.NewDesc("leadq_ruleset_info",
		"A live ruleset and its version; always 1.", []string{"ruleset", "version"}, nil)
)

// detailMetrics name rules and ruleset versions: /metrics leaves them out
// for a caller without a metrics or admin token, on a server with tokens.
var detailMetrics = []string{"leadq_rule_hits_total", "leadq_ruleset_info"}

// openMetrics gathers what /metrics shows anonymously: all but detailMetrics.
type openMetrics struct{ g prometheus.Gatherer }

func (o openMetrics) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := o.g.Gather()
	return slices.DeleteFunc(mfs, func(mf *dto.MetricFamily) bool { return slices.Contains(detailMetrics, mf.GetName()) }), err
}

// reloadCollector reports the engine's reload status at scrape time.
type reloadCollector struct{ eng *engine.Engine }

func (c *reloadCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReloadOK, descReloadTime, descReloads, descFailures, descReady, descInfo} {
		ch <- d
	}
}

func (c *reloadCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.eng.Status()
	ok, ts, ready := 0.0, 0.0, 0.0
	if st.Reloads > 0 && st.LastError == nil {
		ok = 1
	}
	if !st.LastSuccess.IsZero() {
		ts = float64(st.LastSuccess.UnixNano()) / 1e9
	}
	if st.Ready {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(descReloadOK, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(descReloadTime, prometheus.GaugeValue, ts)
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(st.Reloads))
	ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(st.Failures))
	ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, ready)
	for _, rs := range st.Rulesets {
		ch <- prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1, rs.Name, rs.Version)
	}
}
