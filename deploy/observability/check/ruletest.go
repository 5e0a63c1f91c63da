// Rule unit tests in the format of `promtool test rules` (alert_rule_test only), run with the
// same library calls promtool makes (cmd/promtool/unittest.go of Prometheus v0.316.0, Apache
// 2.0): promtool itself is a program, not a package, and building it pulls in every service
// discovery client of Prometheus (9.5 minutes on 2 cores, against 1.5 for this checker), so this
// file repeats its evaluation loop. promtool v0.316.0 passes prometheus-rules.test.yaml too.

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"go.yaml.in/yaml/v2"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
)

// unitTestFile is promtool's file format. Fields this checker does not implement
// (promql_expr_test, external_labels, group_eval_order, start_timestamp, fuzzy_compare) are
// rejected by the strict reading instead of silently ignored.
type unitTestFile struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval,omitempty"`
	Tests              []testGroup    `yaml:"tests"`
}

type testGroup struct {
	Interval       model.Duration  `yaml:"interval"`
	InputSeries    []series        `yaml:"input_series"`
	AlertRuleTests []alertTestCase `yaml:"alert_rule_test,omitempty"`
	TestGroupName  string          `yaml:"name,omitempty"`
}

type series struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type alertTestCase struct {
	EvalTime  model.Duration `yaml:"eval_time"`
	Alertname string         `yaml:"alertname"`
	ExpAlerts []expAlert     `yaml:"exp_alerts"`
}

type expAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

// runRuleTests runs every test group of testsFile and checks that it covers every alert of
// rulesFile both ways: firing in some test and expected quiet in another. Returns the number
// of alert tests run.
func runRuleTests(testsFile, rulesFile string) (int, error) {
	b, err := os.ReadFile(testsFile)
	if err != nil {
		return 0, err
	}
	var f unitTestFile
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return 0, fmt.Errorf("%s: %w", testsFile, err)
	}
	// promtool resolves rule files relative to the test file.
	var ruleFiles []string
	for _, rf := range f.RuleFiles {
		if !filepath.IsAbs(rf) {
			rf = filepath.Join(filepath.Dir(testsFile), rf)
		}
		ruleFiles = append(ruleFiles, rf)
	}
	if len(ruleFiles) != 1 || !sameFile(ruleFiles[0], rulesFile) {
		return 0, fmt.Errorf("%s: rule_files must name %s (only)", testsFile, rulesFile)
	}
	if f.EvaluationInterval == 0 {
		f.EvaluationInterval = model.Duration(time.Minute)
	}
	fired, quiet := map[string]bool{}, map[string]bool{}
	var errs []error
	count := 0
	for i, tg := range f.Tests {
		if tg.Interval == 0 {
			tg.Interval = f.EvaluationInterval
		}
		name := tg.TestGroupName
		if name == "" {
			name = fmt.Sprintf("unnamed#%d", i)
		}
		for _, e := range tg.test(time.Duration(f.EvaluationInterval), ruleFiles) {
			errs = append(errs, fmt.Errorf("%s: test %q: %w", testsFile, name, e))
		}
		for _, at := range tg.AlertRuleTests {
			count++
			if len(at.ExpAlerts) > 0 {
				fired[at.Alertname] = true
			} else {
				quiet[at.Alertname] = true
			}
		}
	}
	alerts, err := alertNames(rulesFile)
	if err != nil {
		return 0, err
	}
	for _, a := range alerts {
		if !fired[a] {
			errs = append(errs, fmt.Errorf("%s: no test where alert %s fires", testsFile, a))
		}
		if !quiet[a] {
			errs = append(errs, fmt.Errorf("%s: no test where alert %s stays quiet", testsFile, a))
		}
	}
	for a := range fired {
		if !contains(alerts, a) {
			errs = append(errs, fmt.Errorf("%s: tests alert %s, which %s does not define", testsFile, a, rulesFile))
		}
	}
	if len(errs) > 0 {
		return 0, joinErrors(errs)
	}
	return count, nil
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func alertNames(rulesFile string) ([]string, error) {
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.UTF8Validation, promql, promslog.NewNopLogger())
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	var out []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r.Alert)
			}
		}
	}
	return out, nil
}

// test evaluates the rule groups at every evalInterval from 0 to the last eval_time, over the
// series of the group, and compares the firing alerts at each eval_time (promtool's loop).
func (tg *testGroup) test(evalInterval time.Duration, ruleFiles []string) []error {
	suite, err := promqltest.NewLazyLoader(tg.seriesLoadingString(), promqltest.LazyLoaderOpts{
		EnableAtModifier: true, EnableNegativeOffset: true, Parser: promql,
	})
	if err != nil {
		return []error{err}
	}
	defer suite.Close()
	suite.SubqueryInterval = evalInterval

	m := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(suite.QueryEngine(), suite.Storage()),
		AppendableV2: suite.Storage(),
		Context:      context.Background(),
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
		Logger:       promslog.NewNopLogger(),
		Parser:       promql,
	})
	groupsMap, errs := m.LoadGroups(time.Duration(tg.Interval), labels.EmptyLabels(), "", nil, false, ruleFiles...)
	if errs != nil {
		return errs
	}
	var groups []*rules.Group
	for _, g := range groupsMap {
		groups = append(groups, g)
		for _, r := range g.Rules() {
			if ar, ok := r.(*rules.AlertingRule); ok {
				// As promtool: restored, so that `for:` counts from the first evaluation.
				ar.SetRestored(true)
			}
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name() < groups[j].Name() })

	byTime := map[model.Duration][]alertTestCase{}
	var times []model.Duration
	for _, at := range tg.AlertRuleTests {
		if at.Alertname == "" {
			return []error{fmt.Errorf("an alert_rule_test at %v has no alertname", at.EvalTime)}
		}
		if _, ok := byTime[at.EvalTime]; !ok {
			times = append(times, at.EvalTime)
		}
		byTime[at.EvalTime] = append(byTime[at.EvalTime], at)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	if len(times) == 0 {
		return []error{fmt.Errorf("no alert_rule_test")}
	}

	mint := time.Unix(0, 0).UTC()
	maxt := mint.Add(time.Duration(times[len(times)-1]))
	curr := 0
	var out []error
	for ts := mint; !ts.After(maxt); ts = ts.Add(evalInterval) {
		var evalErrs []error
		suite.WithSamplesTill(ts, func(err error) {
			if err != nil {
				evalErrs = append(evalErrs, err)
				return
			}
			for _, g := range groups {
				g.Eval(suite.Context(), ts)
				for _, r := range g.Rules() {
					if r.LastError() != nil {
						evalErrs = append(evalErrs, fmt.Errorf("rule %s at %s: %w", r.Name(), ts.Sub(mint), r.LastError()))
					}
				}
			}
		})
		if len(evalErrs) > 0 {
			return append(out, evalErrs...)
		}
		// An eval_time in [ts, ts+evalInterval) is checked against the evaluation at ts.
		for curr < len(times) && ts.Sub(mint) <= time.Duration(times[curr]) &&
			time.Duration(times[curr]) < ts.Add(evalInterval).Sub(mint) {
			for _, at := range byTime[times[curr]] {
				got := firing(groups, at.Alertname)
				exp := expected(at)
				if strings.Join(got, "\n") != strings.Join(exp, "\n") {
					out = append(out, fmt.Errorf("alertname %s, time %s:\n  expected: %v\n  got:      %v",
						at.Alertname, at.EvalTime, exp, got))
				}
			}
			curr++
		}
	}
	return out
}

// firing renders the firing alerts named name (labels, then annotations), sorted.
func firing(groups []*rules.Group, name string) []string {
	var out []string
	for _, g := range groups {
		for _, r := range g.Rules() {
			ar, ok := r.(*rules.AlertingRule)
			if !ok || ar.Name() != name {
				continue
			}
			for _, a := range ar.ActiveAlerts() {
				if a.State == rules.StateFiring {
					out = append(out, a.Labels.String()+" "+a.Annotations.String())
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// expected renders the expected alerts like firing; alertname is added to the labels, as
// Prometheus does on evaluation.
func expected(at alertTestCase) []string {
	var out []string
	for _, a := range at.ExpAlerts {
		l := map[string]string{labels.AlertName: at.Alertname}
		for k, v := range a.ExpLabels {
			l[k] = v
		}
		out = append(out, labels.FromMap(l).String()+" "+labels.FromMap(a.ExpAnnotations).String())
	}
	sort.Strings(out)
	return out
}

func (tg *testGroup) seriesLoadingString() string {
	var b strings.Builder
	fmt.Fprintf(&b, "load %v\n", shortDuration(tg.Interval))
	for _, s := range tg.InputSeries {
		fmt.Fprintf(&b, "  %v %v\n", s.Series, s.Values)
	}
	return b.String()
}

// shortDuration writes 1m rather than model.Duration's 1m0s, which the load command reads.
func shortDuration(d model.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
