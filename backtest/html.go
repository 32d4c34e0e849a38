package backtest

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
)

//go:embed report.html.tmpl
var htmlSrc string

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"count": Count,
	"pct":   Pct,
	"lift":  Lift,
	"auc":   AUCText,
	"short": shortVersion,
	"f1":    func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"f3":    func(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) },
	"signed": func(n int) string {
		return fmt.Sprintf("%+d", n)
	},
	"min": func(m *int) string {
		if m == nil {
			return ""
		}
		return strconv.Itoa(*m)
	},
	"bar": func(f float64) string { return strconv.FormatFloat(math.Max(0, math.Min(1, f))*100, 'f', 1, 64) },
}).Parse(htmlSrc))

// WriteHTML writes the report as one self-contained HTML page: tables and
// inline SVG charts, no scripts, styles or fonts from elsewhere.
func WriteHTML(w io.Writer, r *Report) error {
	data := struct {
		R      *Report
		Tiers  *Chart
		ROC    *Chart
		Gains  *Chart
		Scores *Chart
	}{R: r, Tiers: tierChart(r), ROC: rocChart(r), Gains: gainsChart(r), Scores: scoreChart(r)}
	return htmlTmpl.Execute(w, data)
}

// Chart is an SVG drawing in user units, made of a few primitives that the
// template renders; building it in Go keeps the template free of arithmetic.
type Chart struct {
	Title  string
	W, H   int
	Rects  []Rect
	Lines  []Line
	Polys  []Poly
	Texts  []Text
	Legend []LegendItem
}

// Rect is a bar; Tip is shown on hover.
type Rect struct {
	X, Y, W, H float64
	Class, Tip string
}

// Line is a straight line.
type Line struct {
	X1, Y1, X2, Y2 float64
	Class          string
}

// Poly is a polyline through Points ("x,y x,y ...").
type Poly struct {
	Points string
	Class  string
}

// Text is a label; Anchor is start, middle or end.
type Text struct {
	X, Y   float64
	Anchor string
	Class  string
	S      string
}

// LegendItem names a class used in the chart.
type LegendItem struct {
	Class, Label string
}

// plot maps data coordinates into a chart's plotting area.
type plot struct {
	c                      *Chart
	left, top, right, bott float64 // margins
	xmin, xmax, ymin, ymax float64
}

func newPlot(title string, w, h int, xmin, xmax, ymin, ymax float64) *plot {
	return &plot{c: &Chart{Title: title, W: w, H: h}, left: 56, top: 16, right: 16, bott: 40,
		xmin: xmin, xmax: xmax, ymin: ymin, ymax: ymax}
}

func (p *plot) x(v float64) float64 {
	return p.left + (v-p.xmin)/(p.xmax-p.xmin)*(float64(p.c.W)-p.left-p.right)
}

func (p *plot) y(v float64) float64 {
	return float64(p.c.H) - p.bott - (v-p.ymin)/(p.ymax-p.ymin)*(float64(p.c.H)-p.top-p.bott)
}

// axes draws the frame and y ticks labelled by yfmt.
func (p *plot) axes(yticks []float64, yfmt func(float64) string, xlabel string) {
	c := p.c
	for _, t := range yticks {
		c.Lines = append(c.Lines, Line{p.left, p.y(t), float64(c.W) - p.right, p.y(t), "grid"})
		c.Texts = append(c.Texts, Text{X: p.left - 6, Y: p.y(t) + 4, Anchor: "end", Class: "tick", S: yfmt(t)})
	}
	c.Lines = append(c.Lines,
		Line{p.left, p.y(p.ymin), float64(c.W) - p.right, p.y(p.ymin), "axis"},
		Line{p.left, p.top, p.left, p.y(p.ymin), "axis"})
	if xlabel != "" {
		c.Texts = append(c.Texts, Text{X: (p.left + float64(c.W) - p.right) / 2, Y: float64(c.H) - 6, Anchor: "middle", Class: "label", S: xlabel})
	}
}

func pctTick(v float64) string { return strconv.FormatFloat(v*100, 'f', 0, 64) + "%" }

func ticks(max float64, n int) []float64 {
	out := make([]float64, 0, n+1)
	for i := 0; i <= n; i++ {
		out = append(out, max*float64(i)/float64(n))
	}
	return out
}

// tierChart: conversion rate of each tier and of knocked-out leads, with
// the base rate as a dashed line.
func tierChart(r *Report) *Chart {
	groups := append(append([]TierStats{}, r.Tiers...), r.KnockedOut)
	ymax := 0.0
	for _, g := range groups {
		ymax = math.Max(ymax, g.Rate)
	}
	ymax = niceCeil(math.Max(ymax, r.BaseRate) * 1.1)
	p := newPlot("Conversion rate by tier", 520, 280, 0, float64(len(groups)), 0, ymax)
	p.axes(ticks(ymax, 4), pctTick, "tier (leads)")
	for i, g := range groups {
		x0, x1 := p.x(float64(i)+0.15), p.x(float64(i)+0.85)
		class := "bar"
		if i == len(groups)-1 {
			class = "bar ko"
		}
		p.c.Rects = append(p.c.Rects, Rect{X: x0, Y: p.y(g.Rate), W: x1 - x0, H: p.y(0) - p.y(g.Rate), Class: class,
			Tip: fmt.Sprintf("%s: %s of %s leads converted (%s, lift %s)", g.Name, Count(g.Converted), Count(g.Leads), Pct(g.Rate), Lift(g.Lift))})
		p.c.Texts = append(p.c.Texts,
			Text{X: (x0 + x1) / 2, Y: p.y(g.Rate) - 4, Anchor: "middle", Class: "value", S: Pct(g.Rate)},
			Text{X: (x0 + x1) / 2, Y: p.y(0) + 14, Anchor: "middle", Class: "tick", S: fmt.Sprintf("%s (%s)", g.Name, Count(g.Leads))})
	}
	p.c.Lines = append(p.c.Lines, Line{p.x(0), p.y(r.BaseRate), p.x(float64(len(groups))), p.y(r.BaseRate), "base"})
	p.c.Legend = []LegendItem{{"bar", "conversion rate"}, {"base", "base rate " + Pct(r.BaseRate)}}
	return p.c
}

// rocChart: true-positive rate against false-positive rate as the score
// threshold falls, one point per score value.
func rocChart(r *Report) *Chart {
	p := newPlot("ROC curve (AUC "+AUCText(r.AUC)+")", 360, 340, 0, 1, 0, 1)
	p.axes(ticks(1, 4), pctTick, "false-positive rate")
	p.c.Texts = append(p.c.Texts, Text{X: 14, Y: p.y(0.5), Anchor: "middle", Class: "label vertical", S: "true-positive rate"})
	var pos, neg float64
	for _, b := range r.Scores {
		pos += float64(b.Converted)
		neg += float64(b.Leads - b.Converted)
	}
	p.c.Lines = append(p.c.Lines, Line{p.x(0), p.y(0), p.x(1), p.y(1), "chance"})
	if pos == 0 || neg == 0 {
		return p.c
	}
	pts := []string{pt(p.x(0), p.y(0))}
	var tp, fp float64
	for i := len(r.Scores) - 1; i >= 0; i-- {
		b := r.Scores[i]
		tp += float64(b.Converted)
		fp += float64(b.Leads - b.Converted)
		pts = append(pts, pt(p.x(fp/neg), p.y(tp/pos)))
	}
	p.c.Polys = append(p.c.Polys, Poly{Points: strings.Join(pts, " "), Class: "curve"})
	p.c.Legend = []LegendItem{{"curve", "the ruleset's score"}, {"chance", "random order"}}
	return p.c
}

// gainsChart: share of all conversions captured by the top deciles.
func gainsChart(r *Report) *Chart {
	p := newPlot("Cumulative gains by score decile", 360, 340, 0, 1, 0, 1)
	p.axes(ticks(1, 4), pctTick, "share of leads, highest scores first")
	p.c.Lines = append(p.c.Lines, Line{p.x(0), p.y(0), p.x(1), p.y(1), "chance"})
	var total, cum int64
	for _, d := range r.Deciles {
		total += d.Leads
	}
	pts := []string{pt(p.x(0), p.y(0))}
	for _, d := range r.Deciles {
		cum += d.Leads
		x, y := p.x(ratio(cum, total)), p.y(d.CumCaptured)
		pts = append(pts, pt(x, y))
		p.c.Texts = append(p.c.Texts, Text{X: x, Y: y - 6, Anchor: "middle", Class: "value small", S: pctTick(d.CumCaptured)})
	}
	p.c.Polys = append(p.c.Polys, Poly{Points: strings.Join(pts, " "), Class: "curve"})
	p.c.Legend = []LegendItem{{"curve", "conversions captured"}, {"chance", "random order"}}
	return p.c
}

// scoreChart: leads per score, converted stacked under not converted.
// Scores are grouped into at most 60 equal-width bins.
func scoreChart(r *Report) *Chart {
	if len(r.Scores) == 0 {
		return newPlot("Score distribution", 720, 280, 0, 1, 0, 1).c
	}
	lo, hi := r.Scores[0].Score, r.Scores[len(r.Scores)-1].Score
	width := 1
	for (hi-lo)/width+1 > 60 {
		width++
	}
	n := (hi-lo)/width + 1
	leads, conv := make([]int64, n), make([]int64, n)
	for _, b := range r.Scores {
		i := (b.Score - lo) / width
		leads[i] += b.Leads
		conv[i] += b.Converted
	}
	var ymax int64
	for _, l := range leads {
		ymax = max(ymax, l)
	}
	top := niceCeil(float64(ymax) * 1.05)
	p := newPlot("Score distribution", 720, 280, 0, float64(n), 0, top)
	p.axes(ticks(top, 4), func(v float64) string { return Count(int64(math.Round(v))) }, "score")
	step := max(1, n/12)
	for i := range n {
		x0, x1 := p.x(float64(i)+0.1), p.x(float64(i)+0.9)
		label := strconv.Itoa(lo + i*width)
		if width > 1 {
			label += "…" + strconv.Itoa(lo+i*width+width-1)
		}
		if leads[i] > 0 {
			yc, yl := p.y(float64(conv[i])), p.y(float64(leads[i]))
			tip := fmt.Sprintf("score %s: %s leads, %s converted (%s)", label, Count(leads[i]), Count(conv[i]), Pct(ratio(conv[i], leads[i])))
			p.c.Rects = append(p.c.Rects,
				Rect{X: x0, Y: yc, W: x1 - x0, H: p.y(0) - yc, Class: "bar", Tip: tip},
				Rect{X: x0, Y: yl, W: x1 - x0, H: yc - yl, Class: "bar neg", Tip: tip})
		}
		if i%step == 0 {
			p.c.Texts = append(p.c.Texts, Text{X: (x0 + x1) / 2, Y: p.y(0) + 14, Anchor: "middle", Class: "tick", S: strconv.Itoa(lo + i*width)})
		}
	}
	p.c.Legend = []LegendItem{{"bar", "converted"}, {"bar neg", "not converted"}}
	return p.c
}

func pt(x, y float64) string {
	return strconv.FormatFloat(x, 'f', 1, 64) + "," + strconv.FormatFloat(y, 'f', 1, 64)
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}
