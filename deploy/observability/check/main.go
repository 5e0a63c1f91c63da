// Command check validates the observability kit in deploy/observability with Prometheus' own
// code (github.com/prometheus/prometheus, the library Prometheus and promtool are built from):
//
//   - the alert rule file is parsed and validated by model/rulefmt (the loader Prometheus uses
//     for `rule_files`), every expr by the PromQL parser;
//   - the rules' unit tests (prometheus-rules.test.yaml, in `promtool test rules` format) are
//     evaluated the way promtool does it: series loaded into an in-memory TSDB, the rule groups
//     run by the rules manager at every evaluation step, the firing alerts compared with the
//     expected ones (labels and expanded annotations); and every alert must both fire in one
//     test and stay quiet in another;
//   - every query of the Grafana dashboard (panel targets and template variables) is parsed
//     after Grafana's variables are substituted.
//
// With -names it prints instead the sorted metric names that the dashboard and the rules
// select, one per line, for tests/tests/observability_kit.rs, which checks them against what
// the running binaries export.
//
// Usage (from this directory): go run .    or    go run . -names
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// internal are the series that Prometheus itself writes, not our binaries: `up` and the
// scrape_* series come from every scrape (`up` is 0 when a target cannot be scraped at all,
// which is exactly when no binary can export anything), ALERTS and ALERTS_FOR_STATE from the
// rule evaluation. They are left out of the names that must be exported.
var internal = map[string]bool{
	"up":                                    true,
	"scrape_duration_seconds":               true,
	"scrape_samples_scraped":                true,
	"scrape_samples_post_metric_relabeling": true,
	"scrape_series_added":                   true,
	"ALERTS":                                true,
	"ALERTS_FOR_STATE":                      true,
}

// promql is the parser used everywhere: Prometheus' defaults (no experimental syntax), so a
// query that passes here is one a stock Prometheus accepts.
var promql = parser.NewParser(parser.Options{})

func main() {
	rulesFile := flag.String("rules", "../prometheus-rules.yaml", "Prometheus rule file")
	testsFile := flag.String("tests", "../prometheus-rules.test.yaml",
		"unit tests of the rules, in `promtool test rules` format")
	dashboardFile := flag.String("dashboard", "../grafana-dashboard.json", "Grafana dashboard")
	names := flag.Bool("names", false,
		"only print the metric names the dashboard and the rules use (after parsing them)")
	flag.Parse()

	ruleNames, err := checkRules(*rulesFile)
	if err != nil {
		fail(err)
	}
	dashNames, panels, err := checkDashboard(*dashboardFile)
	if err != nil {
		fail(err)
	}
	all := map[string]bool{}
	for n := range ruleNames {
		all[n] = true
	}
	for n := range dashNames {
		all[n] = true
	}
	if *names {
		for _, n := range sorted(all) {
			fmt.Println(n)
		}
		return
	}
	tests, err := runRuleTests(*testsFile, *rulesFile)
	if err != nil {
		fail(err)
	}
	fmt.Printf("%s: %d metric names; %s: %d alert tests passed; %s: %d panels, %d metric names\n",
		*rulesFile, len(ruleNames), *testsFile, tests, *dashboardFile, panels, len(dashNames))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "check: %v\n", err)
	os.Exit(1)
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// checkRules parses the rule file as Prometheus loads it (unknown fields are errors, every
// expr and template is checked), requires what an on-call needs on every alert, and returns
// the metric names its exprs select.
func checkRules(file string) (map[string]bool, error) {
	groups, errs := rulefmt.ParseFile(file, false, model.UTF8Validation, promql, promslog.NewNopLogger())
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	if len(groups.Groups) == 0 {
		return nil, fmt.Errorf("%s: no rule groups", file)
	}
	names := map[string]bool{}
	seen := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			what := r.Record
			if r.Alert != "" {
				what = r.Alert
				if seen[what] {
					return nil, fmt.Errorf("%s: alert %s is defined twice", file, what)
				}
				seen[what] = true
				if err := alertHasOnCallFields(r); err != nil {
					return nil, fmt.Errorf("%s: alert %s: %w", file, what, err)
				}
			}
			expr, err := promql.ParseExpr(r.Expr)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", file, what, err)
			}
			if err := collectNames(expr, names); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", file, what, err)
			}
		}
	}
	return names, nil
}

// alertHasOnCallFields: a hold time (no page on one bad evaluation), a severity to route on,
// and the annotations a page shows.
func alertHasOnCallFields(r rulefmt.Rule) error {
	if r.For == 0 {
		return fmt.Errorf("no `for:`")
	}
	switch r.Labels["severity"] {
	case "critical", "warning", "info":
	default:
		return fmt.Errorf("label severity must be critical, warning or info, not %q", r.Labels["severity"])
	}
	for _, a := range []string{"summary", "description", "runbook"} {
		if strings.TrimSpace(r.Annotations[a]) == "" {
			return fmt.Errorf("no %s annotation", a)
		}
	}
	return nil
}

// collectNames adds the metric name of every selector in expr to names. A selector without a
// literal name ({__name__=~"..."}) is an error: nobody could check what it reads.
func collectNames(expr parser.Expr, names map[string]bool) error {
	var err error
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok || err != nil {
			return nil
		}
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
		}
		if name == "" {
			err = fmt.Errorf("selector %s has no metric name", vs)
			return nil
		}
		if !internal[name] {
			names[name] = true
		}
		return nil
	})
	return err
}

func joinErrors(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}
