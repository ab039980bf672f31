// Package config loads the worker's settings (README "Configuration") from flags, the
// environment and an optional YAML file, in that order of precedence, and
// checks every value at start so a bad setting stops the worker with one line
// that names it.
package config

import (
	"strings"
)

// EnvPrefix starts the name of every environment variable the worker reads.
const EnvPrefix = "ORDERSYNC_"

// setting describes one configurable value. Its environment variable is
// EnvPrefix+name, its flag the name in kebab case and its YAML key the name in
// snake case.
type setting struct {
	name   string
	def    string
	usage  string
	secret bool // the value is never echoed in an error
	noFlag bool // no command-line flag: its value would show in ps
}

// settings lists every setting the worker knows, in the order of the README.
var settings = []setting{
	{name: "BROKERS", usage: "comma-separated Kafka bootstrap addresses (required)"},
	{name: "TOPICS", usage: "comma-separated source topics (required)"},
	{name: "GROUP_ID", def: "ordersync", usage: "Kafka consumer group"},
	{name: "DLQ_TOPIC", usage: "dead-letter topic (default <first topic>.dlq)"},
	{name: "LEDGER", def: "on", usage: "delivery ledger and its guard: on or off"},
	{name: "LEDGER_TOPIC", usage: "delivery ledger topic, compacted (default <first topic>.ledger)"},
	{name: "LEDGER_RETENTION", def: "72h", usage: "how long an order's delivered state is kept, in memory and in the ledger topic"},
	{name: "MODE", def: "service_provider", usage: "service_provider or channel"},
	{name: "SP_APPID", usage: "sp_appid sent when an event has none (service-provider mode)"},
	{name: "CHANNEL_ID", usage: "channel_id sent when an event has none (channel mode)"},
	{name: "MCHID", usage: "merchant id that signs requests; sp_mchid default (required to run)"},
	{name: "MCH_CERT_SERIAL", usage: "serial of the merchant API certificate (required to run)"},
	{name: "MCH_PRIVATE_KEY_FILE", usage: "merchant private key, PKCS#8 PEM (required to run)"},
	{name: "WECHATPAY_PUBLIC_KEY_FILE", usage: "WeChat Pay public key PEM (public-key verification mode)"},
	{name: "WECHATPAY_PUBLIC_KEY_ID", usage: "WeChat Pay public key id, PUB_KEY_ID_… (public-key verification mode)"},
	{name: "WECHATPAY_CERT_FILE", usage: "WeChat Pay platform certificate PEM (certificate verification mode)"},
	{name: "WECHATPAY_BASE_URL", def: "https://api.mch.weixin.qq.com", usage: "WeChat Pay API base URL"},
	{name: "MERCHANTS_FILE", usage: "merchant registry YAML: accounts and sub_mchid → account (replaces the single-account settings)"},
	{name: "MERCHANT_HOLD", def: "10m", usage: "how long a sub-merchant is held after 3 merchant-level rejections in a row"},
	{name: "ALLOW_INSECURE_BASE_URL", def: "false", usage: "allow a plain-http WeChat Pay base URL to a host other than this one (sandbox only)"},
	{name: "MAX_IN_FLIGHT", def: "64", usage: "events being uploaded or waiting between retries, per instance"},
	{name: "MAX_PENDING_BYTES", def: "64MiB", usage: "bytes of fetched, unfinished events per instance (KiB, MiB, GiB suffixes)"},
	{name: "MAPPING_FILE", usage: "jq program that rewrites each message value into an order event (default: none)"},
	{name: "SKIP_TYPES", def: "order.cancelled,order.closed,order.refunded,order.served", usage: "event types acknowledged without upload"},
	{name: "RETRY_INITIAL_INTERVAL", def: "500ms", usage: "first retry delay"},
	{name: "RETRY_MAX_INTERVAL", def: "1m", usage: "longest retry delay"},
	{name: "RETRY_MAX_ELAPSED", def: "15m", usage: "retry budget of one event (time the API is paused is not charged)"},
	{name: "RATE_LIMIT", def: "0", usage: "upload requests per second per instance, 0 = unlimited"},
	{name: "REQUEST_TIMEOUT", def: "10s", usage: "timeout of one upload request"},
	{name: "HTTP_ADDR", def: ":9090", usage: "address of /metrics, /healthz and /readyz"},
	{name: "SESSION_TIMEOUT", def: "10s", usage: "consumer-group session timeout: how soon a crashed instance's partitions move"},
	{name: "REBALANCE_TIMEOUT", def: "10s", usage: "consumer-group rebalance timeout"},
	{name: "SHUTDOWN_TIMEOUT", def: "10s", usage: "bound for finishing in-flight uploads on stop or rebalance"},
	{name: "KAFKA_TLS", def: "false", usage: "connect to the brokers over TLS (true/false)"},
	{name: "KAFKA_TLS_CA_FILE", usage: "PEM file of CAs that sign the brokers' certificates (default: system roots)"},
	{name: "KAFKA_SASL_MECHANISM", usage: "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty = no SASL)"},
	{name: "KAFKA_USERNAME", usage: "SASL user name"},
	{name: "KAFKA_PASSWORD", usage: "SASL password (environment or config file only, never a flag)", secret: true, noFlag: true},
	{name: "KAFKA_PASSWORD_FILE", usage: "file holding the SASL password, instead of ORDERSYNC_KAFKA_PASSWORD"},
	{name: "LOG_LEVEL", def: "info", usage: "trace, debug, info, warn or error"},
	{name: "LOG_FORMAT", def: "json", usage: "json or console"},
}

func (s setting) env() string  { return EnvPrefix + s.name }
func (s setting) flag() string { return strings.ReplaceAll(strings.ToLower(s.name), "_", "-") }
func (s setting) key() string  { return strings.ToLower(s.name) }

// label names a setting in an error: its environment variable and its flag.
func (s setting) label() string {
	if s.noFlag {
		return s.env()
	}
	return s.env() + " (--" + s.flag() + ")"
}

func lookupSetting(name string) (setting, bool) {
	for _, s := range settings {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
}
