// Tests of the checker itself: each check must reject a kit that is wrong in its way, or a
// green run of scripts/check-observability would prove nothing.

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodRule = `groups:
  - name: g
    rules:
      - alert: A
        expr: rate(openim_shim_callbacks_total[5m]) > 1
        for: 5m
        labels: {severity: warning}
        annotations: {summary: s, description: d, runbook: r}
`

func write(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRulesAreRejected(t *testing.T) {
	names, err := checkRules(write(t, "ok.yaml", goodRule))
	if err != nil {
		t.Fatalf("a valid rule file was rejected: %v", err)
	}
	if !names["openim_shim_callbacks_total"] || len(names) != 1 {
		t.Fatalf("names %v, want openim_shim_callbacks_total", names)
	}
	for what, rule := range map[string]string{
		"PromQL syntax":     strings.Replace(goodRule, "[5m]) > 1", "[5m] > 1", 1),
		"unknown field":     strings.Replace(goodRule, "for: 5m", "for: 5m\n        fro: 5m", 1),
		"no for":            strings.Replace(goodRule, "for: 5m\n", "", 1),
		"no severity":       strings.Replace(goodRule, "severity: warning", "team: x", 1),
		"no runbook":        strings.Replace(goodRule, ", runbook: r", "", 1),
		"template":          strings.Replace(goodRule, "summary: s", "summary: '{{ $labels.x '", 1),
		"nameless selector": strings.Replace(goodRule, "openim_shim_callbacks_total", `{__name__=~"openim_.*"}`, 1),
	} {
		if _, err := checkRules(write(t, "bad.yaml", rule)); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}

func TestUpIsNotAnExportedName(t *testing.T) {
	names, err := checkRules(write(t, "up.yaml", strings.Replace(goodRule,
		"rate(openim_shim_callbacks_total[5m]) > 1", `up{job="openim-shim"} == 0`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 0 {
		t.Fatalf("names %v, want none: up is Prometheus' own", names)
	}
}

func TestGrafanaVariablesAreSubstituted(t *testing.T) {
	got := substitute(`sum(rate(x{job=~"$shim_job",command=~"${command:regex}"}[$__rate_interval]))`)
	want := `sum(rate(x{job=~".*",command=~".*"}[1m]))`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

const goodDashboard = `{"title": "t", "uid": "u", "schemaVersion": 39,
  "templating": {"list": [
    {"name": "datasource", "type": "datasource", "query": "prometheus"},
    {"name": "command", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
     "query": {"query": "label_values(openim_shim_callbacks_total, command)"}}]},
  "panels": [
    {"id": 1, "type": "row", "title": "r", "panels": []},
    {"id": 2, "type": "timeseries", "title": "p", "datasource": {"type": "prometheus", "uid": "${datasource}"},
     "targets": [{"refId": "A", "expr": "histogram_quantile(0.99, sum by (le) (rate(openim_shim_callback_duration_seconds_bucket{command=~\"$command\"}[$__rate_interval])))"}]}]}`

func TestDashboardsAreRejected(t *testing.T) {
	names, panels, err := checkDashboard(write(t, "ok.json", goodDashboard))
	if err != nil {
		t.Fatalf("a valid dashboard was rejected: %v", err)
	}
	if panels != 1 || len(names) != 2 || !names["openim_shim_callback_duration_seconds_bucket"] {
		t.Fatalf("%d panels, names %v", panels, names)
	}
	for what, d := range map[string]string{
		"PromQL syntax":    strings.Replace(goodDashboard, "[$__rate_interval])))", "[$__rate_interval]))", 1),
		"old schema":       strings.Replace(goodDashboard, `"schemaVersion": 39`, `"schemaVersion": 16`, 1),
		"fixed datasource": strings.Replace(goodDashboard, `"id": 2, "type": "timeseries", "title": "p", "datasource": {"type": "prometheus", "uid": "${datasource}"}`, `"id": 2, "type": "timeseries", "title": "p", "datasource": {"type": "prometheus", "uid": "abc"}`, 1),
		"variable query":   strings.Replace(goodDashboard, "label_values(openim_shim_callbacks_total, command)", "label_values(openim_shim_callbacks_total{, command)", 1),
		"duplicate id":     strings.Replace(goodDashboard, `"id": 2`, `"id": 1`, 1),
	} {
		if _, _, err := checkDashboard(write(t, "bad.json", d)); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}

func TestRuleTestsFailWhenAlertsDoNot(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(goodRule), 0o600); err != nil {
		t.Fatal(err)
	}
	test := func(exp string) string {
		return `rule_files: [rules.yaml]
tests:
  - input_series:
      - {series: 'openim_shim_callbacks_total{job="j"}', values: '0+120x20'}
    alert_rule_test:
      - {eval_time: 3m, alertname: A}
      - eval_time: 10m
        alertname: A
        exp_alerts:
          - exp_labels: {severity: warning, job: j}
            exp_annotations: {summary: s, description: d, runbook: ` + exp + `}
`
	}
	write := func(text string) string {
		path := filepath.Join(dir, "rules.test.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if n, err := runRuleTests(write(test("r")), rules); err != nil || n != 2 {
		t.Fatalf("valid tests: %d run, %v", n, err)
	}
	if _, err := runRuleTests(write(test("other")), rules); err == nil {
		t.Error("a wrong expected annotation passed")
	}
	// Pending at 3m (for: 5m); a test expecting it firing then must fail.
	if _, err := runRuleTests(write(strings.Replace(test("r"), "eval_time: 10m", "eval_time: 4m", 1)), rules); err == nil {
		t.Error("an alert still pending passed as firing")
	}
	// Every alert must also be shown quiet somewhere.
	quietless := strings.Replace(test("r"), "      - {eval_time: 3m, alertname: A}\n", "", 1)
	if _, err := runRuleTests(write(quietless), rules); err == nil {
		t.Error("an alert never tested quiet passed")
	}
}
