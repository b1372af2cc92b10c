package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// Settings are plugins.settings.observability in steward.yaml. None is
// required: without metrics or logs, the actions of that kind fail with
// not_configured, and the support runbooks skip their health check and
// say so.
type Settings struct {
	Metrics       string                `json:"metrics,omitempty" enum:"none,prometheus,datadog,sandbox" desc:"where query, range and incident read metrics: none (the default), prometheus (also Grafana-managed Prometheus, Mimir, Thanos), datadog, or sandbox (fixtures)"`
	Logs          string                `json:"logs,omitempty" enum:"none,elasticsearch,datadog,sandbox" desc:"where logs_count and top_messages read logs: none (the default), elasticsearch (what Kibana reads; OpenSearch too), datadog, or sandbox (fixtures)"`
	Prometheus    PrometheusSettings    `json:"prometheus,omitempty" desc:"the prometheus backend"`
	Datadog       DatadogSettings       `json:"datadog,omitempty" desc:"the datadog backend"`
	Elasticsearch ElasticsearchSettings `json:"elasticsearch,omitempty" desc:"the elasticsearch backend"`
	Link          string                `json:"link,omitempty" desc:"the link outputs carry, with {query}, {from} and {to} (RFC 3339) URL-escaped where they go, such as a Grafana Explore URL; default: the Prometheus graph page for prometheus, the metric explorer for datadog"`
}

// PrometheusSettings are the Prometheus HTTP API's address and credentials.
type PrometheusSettings struct {
	URL         string       `json:"url,omitempty" desc:"the server's address, such as http://prometheus:9090 or https://prometheus-prod-01.grafana.net/api/prom"`
	BearerToken string       `json:"bearer_token,omitempty" desc:"sent as Authorization: Bearer; write {secret: PROMETHEUS_TOKEN}" steward:"sensitive"`
	Username    string       `json:"username,omitempty" desc:"basic auth user (Grafana Cloud: the instance id)"`
	Password    string       `json:"password,omitempty" desc:"basic auth password; write {secret: PROMETHEUS_PASSWORD}" steward:"sensitive"`
	Tenant      string       `json:"tenant,omitempty" desc:"sent as X-Scope-OrgID (Mimir, Cortex)"`
	Timeout     sdk.Duration `json:"timeout,omitempty" desc:"how long one request may take (default 10s)"`
}

// DatadogSettings are the Datadog API's site and keys.
type DatadogSettings struct {
	Site           string       `json:"site,omitempty" desc:"the Datadog site, such as datadoghq.com (the default), datadoghq.eu or us5.datadoghq.com"`
	APIKey         string       `json:"api_key,omitempty" desc:"sent as DD-API-KEY; write {secret: DD_API_KEY}" steward:"sensitive"`
	ApplicationKey string       `json:"application_key,omitempty" desc:"sent as DD-APPLICATION-KEY (needs timeseries_query and logs_read_data); write {secret: DD_APP_KEY}" steward:"sensitive"`
	BaseURL        string       `json:"base_url,omitempty" desc:"the API's address, overriding site (default https://api.SITE)"`
	Timeout        sdk.Duration `json:"timeout,omitempty" desc:"how long one request may take (default 10s)"`
}

// ElasticsearchSettings are the cluster, index and fields logs are read from.
type ElasticsearchSettings struct {
	URL          string       `json:"url,omitempty" desc:"the cluster's address, such as https://logs.example.org:9200"`
	Index        string       `json:"index,omitempty" desc:"the index or pattern searched (default logs-*)"`
	APIKey       string       `json:"api_key,omitempty" desc:"sent as Authorization: ApiKey (the encoded key); write {secret: ES_API_KEY}" steward:"sensitive"`
	Username     string       `json:"username,omitempty" desc:"basic auth user"`
	Password     string       `json:"password,omitempty" desc:"basic auth password; write {secret: ES_PASSWORD}" steward:"sensitive"`
	TimeField    string       `json:"time_field,omitempty" desc:"the time field of a log line (default @timestamp)"`
	MessageField string       `json:"message_field,omitempty" desc:"the keyword field top_messages groups by (default message.keyword)"`
	Timeout      sdk.Duration `json:"timeout,omitempty" desc:"how long one request may take (default 10s)"`
}

// Backend names.
const (
	backendNone          = "none"
	backendPrometheus    = "prometheus"
	backendDatadog       = "datadog"
	backendElasticsearch = "elasticsearch"
	backendSandbox       = "sandbox"
)

func defaultSettings() Settings {
	ten := sdk.Duration(10 * time.Second)
	return Settings{
		Metrics:       backendNone,
		Logs:          backendNone,
		Prometheus:    PrometheusSettings{Timeout: ten},
		Datadog:       DatadogSettings{Site: "datadoghq.com", Timeout: ten},
		Elasticsearch: ElasticsearchSettings{Index: "logs-*", TimeField: "@timestamp", MessageField: "message.keyword", Timeout: ten},
	}
}

// check refuses settings the schema lets through, with a message that
// says what to write. It never quotes a secret.
func (s *Settings) check() error {
	if s.Metrics == "" {
		s.Metrics = backendNone
	}
	if s.Logs == "" {
		s.Logs = backendNone
	}
	var errs []error
	if s.Metrics == backendPrometheus {
		p := &s.Prometheus
		if err := checkURL("prometheus.url", p.URL, "http://prometheus:9090"); err != nil {
			errs = append(errs, err)
		}
		if p.BearerToken != "" && (p.Username != "" || p.Password != "") {
			errs = append(errs, errors.New("prometheus: set bearer_token or username and password, not both"))
		}
		if (p.Username == "") != (p.Password == "") {
			errs = append(errs, errors.New("prometheus: basic auth needs both username and password: set password to {secret: PROMETHEUS_PASSWORD}"))
		}
		errs = append(errs, checkTimeout("prometheus.timeout", p.Timeout))
	}
	if s.Metrics == backendDatadog || s.Logs == backendDatadog {
		d := &s.Datadog
		if d.APIKey == "" || d.ApplicationKey == "" {
			errs = append(errs, errors.New("datadog needs api_key and application_key: set them to {secret: DD_API_KEY} and {secret: DD_APP_KEY}"))
		}
		if d.Site == "" {
			d.Site = "datadoghq.com"
		}
		siteOK := !strings.ContainsAny(d.Site, "/: ")
		if !siteOK {
			errs = append(errs, fmt.Errorf("datadog.site is a host name such as datadoghq.com or datadoghq.eu, without a scheme, got %q", d.Site))
		}
		if d.BaseURL == "" && siteOK {
			d.BaseURL = "https://api." + d.Site
		}
		if err := checkURL("datadog.base_url", d.BaseURL, "https://api.datadoghq.com"); siteOK && err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, checkTimeout("datadog.timeout", d.Timeout))
	}
	if s.Logs == backendElasticsearch {
		e := &s.Elasticsearch
		if err := checkURL("elasticsearch.url", e.URL, "https://logs.example.org:9200"); err != nil {
			errs = append(errs, err)
		}
		if e.Index == "" || strings.ContainsAny(e.Index, "/ ?#") {
			errs = append(errs, fmt.Errorf("elasticsearch.index must be an index name or pattern such as logs-*, got %q", e.Index))
		}
		if e.APIKey != "" && (e.Username != "" || e.Password != "") {
			errs = append(errs, errors.New("elasticsearch: set api_key or username and password, not both"))
		}
		if (e.Username == "") != (e.Password == "") {
			errs = append(errs, errors.New("elasticsearch: basic auth needs both username and password: set password to {secret: ES_PASSWORD}"))
		}
		errs = append(errs, checkTimeout("elasticsearch.timeout", e.Timeout))
	}
	if s.Link != "" && !strings.Contains(s.Link, "{query}") {
		errs = append(errs, fmt.Errorf("link must say where the query goes with {query}, such as https://grafana.example.org/explore?left={query}, got %q", s.Link))
	}
	return errors.Join(errs...)
}

func checkURL(field, s, example string) error {
	u, err := url.Parse(s)
	if s == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%s must be an http(s) URL such as %s (without credentials: use the settings' own fields), got %q", field, example, redactURL(s))
	}
	return nil
}

// redactURL drops the user info of a URL before it is quoted.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = url.User("***")
		return u.String()
	}
	return s
}

func checkTimeout(field string, d sdk.Duration) error {
	if d.Std() <= 0 || d.Std() > 2*time.Minute {
		return fmt.Errorf("%s must be between 0s and 2m, got %s", field, d)
	}
	return nil
}
