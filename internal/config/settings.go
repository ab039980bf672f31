// Package config loads the worker's settings (README "Configuration") from flags, the
// environment and an optional YAML file, in that order of precedence, and
// checks every value at start so a bad setting stops the worker with one line
// that names it.
package config

import (
	"reflect"
	"strings"
	"sync"
)

// EnvPrefix starts the name of every environment variable the worker reads.
const EnvPrefix = "ORDERSYNC_"

// settings is every setting the worker knows, in the order of the README, as
// given: the one list the flags, the environment, the file and the checks
// all come from. Each field's tags name the setting:
//
//	env      its environment variable
//	flag     its command-line flag; "-" for none (the value would show in ps)
//	yaml     its key in the --config file
//	default  its value when nothing sets it; "true" or "false" makes a boolean flag
//	use      the groups, space-separated, of the subcommands besides run that bind its flag (see Group)
//	secret   "true": the value never appears in an error
//	usage    the flag's help
type settings struct {
	Brokers                value `env:"ORDERSYNC_BROKERS" flag:"brokers" yaml:"brokers" use:"kafka" usage:"comma-separated Kafka bootstrap addresses (required)"`
	Topics                 value `env:"ORDERSYNC_TOPICS" flag:"topics" yaml:"topics" use:"kafka" usage:"comma-separated source topics (required)"`
	GroupID                value `env:"ORDERSYNC_GROUP_ID" flag:"group-id" yaml:"group_id" default:"ordersync" usage:"Kafka consumer group"`
	DLQTopic               value `env:"ORDERSYNC_DLQ_TOPIC" flag:"dlq-topic" yaml:"dlq_topic" use:"kafka" usage:"dead-letter topic (default <first topic>.dlq)"`
	Ledger                 value `env:"ORDERSYNC_LEDGER" flag:"ledger" yaml:"ledger" default:"on" use:"guard" usage:"delivery ledger and its guard: on or off"`
	LedgerTopic            value `env:"ORDERSYNC_LEDGER_TOPIC" flag:"ledger-topic" yaml:"ledger_topic" use:"ledger" usage:"delivery ledger topic, compacted (default <first topic>.ledger)"`
	LedgerRetention        value `env:"ORDERSYNC_LEDGER_RETENTION" flag:"ledger-retention" yaml:"ledger_retention" default:"72h" use:"guard" usage:"how long an order's delivered state is kept, in memory and in the ledger topic"`
	Mode                   value `env:"ORDERSYNC_MODE" flag:"mode" yaml:"mode" default:"service_provider" use:"mapper" usage:"service_provider or channel"`
	SpAppID                value `env:"ORDERSYNC_SP_APPID" flag:"sp-appid" yaml:"sp_appid" use:"mapper" usage:"sp_appid sent when an event has none (service-provider mode)"`
	ChannelID              value `env:"ORDERSYNC_CHANNEL_ID" flag:"channel-id" yaml:"channel_id" use:"mapper" usage:"channel_id sent when an event has none (channel mode)"`
	MchID                  value `env:"ORDERSYNC_MCHID" flag:"mchid" yaml:"mchid" use:"mapper" usage:"merchant id that signs requests; sp_mchid default (required to run)"`
	MchCertSerial          value `env:"ORDERSYNC_MCH_CERT_SERIAL" flag:"mch-cert-serial" yaml:"mch_cert_serial" usage:"serial of the merchant API certificate (required to run)"`
	MchPrivateKeyFile      value `env:"ORDERSYNC_MCH_PRIVATE_KEY_FILE" flag:"mch-private-key-file" yaml:"mch_private_key_file" usage:"merchant private key, PKCS#8 PEM (required to run)"`
	WechatPayPublicKeyFile value `env:"ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE" flag:"wechatpay-public-key-file" yaml:"wechatpay_public_key_file" usage:"WeChat Pay public key PEM (public-key verification mode)"`
	WechatPayPublicKeyID   value `env:"ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID" flag:"wechatpay-public-key-id" yaml:"wechatpay_public_key_id" usage:"WeChat Pay public key id, PUB_KEY_ID_… (public-key verification mode)"`
	WechatPayCertFile      value `env:"ORDERSYNC_WECHATPAY_CERT_FILE" flag:"wechatpay-cert-file" yaml:"wechatpay_cert_file" usage:"WeChat Pay platform certificate PEM (certificate verification mode)"`
	WechatPayBaseURL       value `env:"ORDERSYNC_WECHATPAY_BASE_URL" flag:"wechatpay-base-url" yaml:"wechatpay_base_url" default:"https://api.mch.weixin.qq.com" usage:"WeChat Pay API base URL"`
	MerchantsFile          value `env:"ORDERSYNC_MERCHANTS_FILE" flag:"merchants-file" yaml:"merchants_file" use:"mapper" usage:"merchant registry YAML: accounts and sub_mchid → account (replaces the single-account settings)"`
	MerchantHold           value `env:"ORDERSYNC_MERCHANT_HOLD" flag:"merchant-hold" yaml:"merchant_hold" default:"10m" usage:"how long a sub-merchant is held after 3 merchant-level rejections in a row"`
	AllowInsecureBaseURL   value `env:"ORDERSYNC_ALLOW_INSECURE_BASE_URL" flag:"allow-insecure-base-url" yaml:"allow_insecure_base_url" default:"false" usage:"allow a plain-http WeChat Pay base URL to a host other than this one (sandbox only)"`
	MaxInFlight            value `env:"ORDERSYNC_MAX_IN_FLIGHT" flag:"max-in-flight" yaml:"max_in_flight" default:"64" usage:"events being uploaded or waiting between retries, per instance"`
	MaxPendingBytes        value `env:"ORDERSYNC_MAX_PENDING_BYTES" flag:"max-pending-bytes" yaml:"max_pending_bytes" default:"64MiB" usage:"bytes of fetched, unfinished events per instance (KiB, MiB, GiB suffixes)"`
	MappingFile            value `env:"ORDERSYNC_MAPPING_FILE" flag:"mapping-file" yaml:"mapping_file" use:"mapper" usage:"jq program that rewrites each message value into an order event (default: none)"`
	SkipTypes              value `env:"ORDERSYNC_SKIP_TYPES" flag:"skip-types" yaml:"skip_types" default:"order.cancelled,order.closed,order.refunded,order.served" use:"mapper" usage:"event types acknowledged without upload"`
	RetryInitialInterval   value `env:"ORDERSYNC_RETRY_INITIAL_INTERVAL" flag:"retry-initial-interval" yaml:"retry_initial_interval" default:"500ms" usage:"first retry delay"`
	RetryMaxInterval       value `env:"ORDERSYNC_RETRY_MAX_INTERVAL" flag:"retry-max-interval" yaml:"retry_max_interval" default:"1m" usage:"longest retry delay"`
	RetryMaxElapsed        value `env:"ORDERSYNC_RETRY_MAX_ELAPSED" flag:"retry-max-elapsed" yaml:"retry_max_elapsed" default:"15m" usage:"retry budget of one event (time the API is paused is not charged)"`
	RateLimit              value `env:"ORDERSYNC_RATE_LIMIT" flag:"rate-limit" yaml:"rate_limit" default:"0" usage:"upload requests per second per instance, 0 = unlimited"`
	RequestTimeout         value `env:"ORDERSYNC_REQUEST_TIMEOUT" flag:"request-timeout" yaml:"request_timeout" default:"10s" usage:"timeout of one upload request"`
	HTTPAddr               value `env:"ORDERSYNC_HTTP_ADDR" flag:"http-addr" yaml:"http_addr" default:":9090" usage:"address of /metrics, /healthz and /readyz"`
	SessionTimeout         value `env:"ORDERSYNC_SESSION_TIMEOUT" flag:"session-timeout" yaml:"session_timeout" default:"10s" usage:"consumer-group session timeout: how soon a crashed instance's partitions move"`
	RebalanceTimeout       value `env:"ORDERSYNC_REBALANCE_TIMEOUT" flag:"rebalance-timeout" yaml:"rebalance_timeout" default:"10s" usage:"consumer-group rebalance timeout"`
	ShutdownTimeout        value `env:"ORDERSYNC_SHUTDOWN_TIMEOUT" flag:"shutdown-timeout" yaml:"shutdown_timeout" default:"10s" usage:"bound for finishing in-flight uploads on stop or rebalance"`
	KafkaTLS               value `env:"ORDERSYNC_KAFKA_TLS" flag:"kafka-tls" yaml:"kafka_tls" default:"false" use:"kafka" usage:"connect to the brokers over TLS (true/false)"`
	KafkaTLSCAFile         value `env:"ORDERSYNC_KAFKA_TLS_CA_FILE" flag:"kafka-tls-ca-file" yaml:"kafka_tls_ca_file" use:"kafka" usage:"PEM file of CAs that sign the brokers' certificates (default: system roots)"`
	KafkaSASLMechanism     value `env:"ORDERSYNC_KAFKA_SASL_MECHANISM" flag:"kafka-sasl-mechanism" yaml:"kafka_sasl_mechanism" use:"kafka" usage:"PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty = no SASL)"`
	KafkaUsername          value `env:"ORDERSYNC_KAFKA_USERNAME" flag:"kafka-username" yaml:"kafka_username" use:"kafka" usage:"SASL user name"`
	KafkaPassword          value `env:"ORDERSYNC_KAFKA_PASSWORD" flag:"-" yaml:"kafka_password" secret:"true" usage:"SASL password (environment or config file only, never a flag)"`
	KafkaPasswordFile      value `env:"ORDERSYNC_KAFKA_PASSWORD_FILE" flag:"kafka-password-file" yaml:"kafka_password_file" use:"kafka" usage:"file holding the SASL password, instead of ORDERSYNC_KAFKA_PASSWORD"`
	LogLevel               value `env:"ORDERSYNC_LOG_LEVEL" flag:"log-level" yaml:"log_level" default:"info" usage:"trace, debug, info, warn or error"`
	LogFormat              value `env:"ORDERSYNC_LOG_FORMAT" flag:"log-format" yaml:"log_format" default:"json" usage:"json or console"`
}

// value is one setting as loaded: its text and names.
type value struct {
	raw   string // as given, or the default
	given bool   // set by a flag, the environment or the file
	env   string
	label string // the environment variable, and the flag when the command has it
}

// Label names the setting in an error: its environment variable and, when
// the command registered it, its flag, e.g. "ORDERSYNC_HTTP_ADDR (--http-addr)".
func (v value) Label() string { return v.label }

// names is all with every value dropped: only the settings' names remain.
func names(all settings) settings {
	for _, s := range specs() {
		v := s.field(&all)
		*v = value{env: v.env, label: v.label}
	}
	return all
}

// spec is one setting's tags, read once from settings.
type spec struct {
	index                int // field index in settings
	env, flag, yaml, def string
	usage                string
	secret               bool
	groups               []Group
	boolean              bool // a true/false setting: its flag takes no value
}

// Group names the subcommands besides run that register a setting's flag
// (tag use); run registers every flag.
type Group string

const (
	// GroupKafka is the brokers, the topics and the broker security: the
	// commands that read and write topics (replay, dlq, ledger, report).
	GroupKafka Group = "kafka"
	// GroupLedger is the delivery ledger's topic (replay, ledger, report).
	GroupLedger Group = "ledger"
	// GroupGuard is the ledger's guard (replay --dry-run).
	GroupGuard Group = "guard"
	// GroupMapper is the settings that map an event (validate, replay --dry-run).
	GroupMapper Group = "mapper"
)

// specs lists the settings' tags in field order.
var specs = sync.OnceValue(func() []spec {
	t := reflect.TypeFor[settings]()
	out := make([]spec, t.NumField())
	for i := range out {
		tag := t.Field(i).Tag
		s := spec{index: i, env: tag.Get("env"), flag: tag.Get("flag"), yaml: tag.Get("yaml"), def: tag.Get("default"),
			usage: tag.Get("usage"), secret: tag.Get("secret") == "true"}
		if s.flag == "-" {
			s.flag = ""
		}
		s.boolean = s.def == "true" || s.def == "false"
		for _, g := range strings.Fields(tag.Get("use")) {
			s.groups = append(s.groups, Group(g))
		}
		out[i] = s
	}
	return out
})

// field returns the value of spec s in all.
func (s spec) field(all *settings) *value {
	return reflect.ValueOf(all).Elem().Field(s.index).Addr().Interface().(*value)
}

// label names a setting in an error: its environment variable and, when the
// command registered it, its flag.
func (s spec) label(bound bool) string {
	if !bound || s.flag == "" {
		return s.env
	}
	return s.env + " (--" + s.flag + ")"
}

func specByEnv(env string) (spec, bool) {
	for _, s := range specs() {
		if s.env == env {
			return s, true
		}
	}
	return spec{}, false
}

func specByKey(key string) (spec, bool) {
	for _, s := range specs() {
		if s.yaml == key {
			return s, true
		}
	}
	return spec{}, false
}
