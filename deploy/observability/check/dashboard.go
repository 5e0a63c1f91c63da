// The Grafana dashboard's checks: every PromQL query it holds (panel targets, template
// variables' label_values) parses once Grafana's variables are substituted, every panel reads
// the ${datasource} variable, and the dashboard is of the schema it claims.

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
)

// minSchemaVersion is Grafana 10.3's, which every supported Grafana imports.
const minSchemaVersion = 39

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	// A collapsed row keeps its panels inside it.
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
}

// grafanaVar matches $name, ${name} and ${name:format}, Grafana's variable syntaxes in queries
// (the deprecated [[name]] is not accepted).
var grafanaVar = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// labelValues is Grafana's label_values(metric, label) variable query (not PromQL).
var labelValues = regexp.MustCompile(`^\s*label_values\(\s*(.*?)\s*,\s*(\w+)\s*\)\s*$`)

// substitute replaces Grafana's variables the way a query is sent: the interval variables by
// a duration, every other variable (used in =~ matchers) by a regex matching everything.
func substitute(q string) string {
	return grafanaVar.ReplaceAllStringFunc(q, func(v string) string {
		m := grafanaVar.FindStringSubmatch(v)
		name := m[1] + m[2]
		switch name {
		case "__rate_interval", "__interval", "__range":
			return "1m"
		case "__range_s", "__interval_ms":
			return "60"
		}
		return ".*"
	})
}

// checkDashboard parses the dashboard and returns the metric names its queries select and the
// number of panels (rows excepted).
func checkDashboard(file string) (map[string]bool, int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, 0, err
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	if d.Title == "" || d.UID == "" {
		return nil, 0, fmt.Errorf("%s: no title or uid", file)
	}
	if d.SchemaVersion < minSchemaVersion {
		return nil, 0, fmt.Errorf("%s: schemaVersion %d, want %d or later", file, d.SchemaVersion, minSchemaVersion)
	}
	names := map[string]bool{}
	var errs []error
	hasDatasource := false
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			var q string
			if json.Unmarshal(v.Query, &q) != nil || q != "prometheus" || v.Name != "datasource" {
				errs = append(errs, fmt.Errorf("variable %s: the datasource variable must be named datasource, of type prometheus", v.Name))
			}
			hasDatasource = true
		case "query":
			if !usesDatasourceVar(v.Datasource) {
				errs = append(errs, fmt.Errorf("variable %s: datasource must be ${datasource}", v.Name))
			}
			// Grafana stores the query as a string or as {query: "...", qryType: ...}.
			var q string
			if json.Unmarshal(v.Query, &q) != nil {
				var obj struct {
					Query string `json:"query"`
				}
				if err := json.Unmarshal(v.Query, &obj); err != nil {
					errs = append(errs, fmt.Errorf("variable %s: query: %w", v.Name, err))
					continue
				}
				q = obj.Query
			}
			m := labelValues.FindStringSubmatch(q)
			if m == nil {
				errs = append(errs, fmt.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q))
				continue
			}
			expr, err := promql.ParseExpr(substitute(m[1]))
			if err == nil {
				err = collectNames(expr, names)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("variable %s: %w", v.Name, err))
			}
		}
	}
	if !hasDatasource {
		errs = append(errs, fmt.Errorf("no datasource variable"))
	}
	ids := map[int]bool{}
	count := 0
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				errs = append(errs, fmt.Errorf("panel id %d used twice", p.ID))
			}
			ids[p.ID] = true
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			count++
			where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			if p.Title == "" {
				errs = append(errs, fmt.Errorf("%s: no title", where))
			}
			if !usesDatasourceVar(p.Datasource) {
				errs = append(errs, fmt.Errorf("%s: datasource must be ${datasource}", where))
			}
			if len(p.Targets) == 0 {
				errs = append(errs, fmt.Errorf("%s: no query", where))
			}
			for _, t := range p.Targets {
				expr, err := promql.ParseExpr(substitute(t.Expr))
				if err == nil {
					err = collectNames(expr, names)
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("%s, query %s: %w", where, t.RefID, err))
				}
			}
		}
	}
	walk(d.Panels)
	if len(errs) > 0 {
		return nil, 0, fmt.Errorf("%s:\n%w", file, joinErrors(errs))
	}
	return names, count, nil
}

func usesDatasourceVar(ds *datasource) bool {
	return ds != nil && ds.Type == "prometheus" && ds.UID == "${datasource}"
}
