package config

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"

	"github.com/ordersync/ordersync/internal/merchants"
	"github.com/ordersync/ordersync/internal/uploader"
)

// Need says which groups of settings a subcommand requires.
type Need uint8

const (
	// NeedKafka requires the brokers (and makes the Kafka security settings matter).
	NeedKafka Need = 1 << iota
	// NeedTopics requires the source topics.
	NeedTopics
	// NeedWechat requires the signing merchant and the response verification keys.
	NeedWechat
)

// Mode values of ORDERSYNC_MODE.
const (
	ModeServiceProvider = "service_provider"
	ModeChannel         = "channel"
)

// Config is the checked configuration of one worker process.
type Config struct {
	Brokers   []string
	Topics    []string
	GroupID   string
	DLQTopic  string
	Mode      string
	SpAppID   string
	ChannelID string
	SkipTypes []string
	// MappingFile names the jq program run before the mapper; "" = none.
	MappingFile string

	MchID         string
	MchCertSerial string
	// MchPrivateKey is loaded from ORDERSYNC_MCH_PRIVATE_KEY_FILE when NeedWechat.
	MchPrivateKey *rsa.PrivateKey
	// WechatPayPublicKey and WechatPayPublicKeyID select public-key verification.
	WechatPayPublicKey   *rsa.PublicKey
	WechatPayPublicKeyID string
	// WechatPayCert selects platform-certificate verification.
	WechatPayCert *x509.Certificate
	BaseURL       string

	MaxInFlight          int
	MaxPendingBytes      int64
	RetryInitialInterval time.Duration
	RetryMaxInterval     time.Duration
	RetryMaxElapsed      time.Duration
	RateLimit            float64
	RequestTimeout       time.Duration

	HTTPAddr         string
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	ShutdownTimeout  time.Duration

	Kafka Kafka

	// MerchantsFile is ORDERSYNC_MERCHANTS_FILE, "" without a registry.
	MerchantsFile string
	// Registry is the merchant registry: the file's, else one account named
	// "default" from the single-account settings (see registry.go).
	Registry *merchants.Registry
	// MerchantHold is how long a sub-merchant stays held.
	MerchantHold time.Duration
	// Ledger turns the delivery ledger on (ORDERSYNC_LEDGER=on); LedgerTopic
	// and LedgerRetention are its topic and how long it keeps a state.
	Ledger          bool
	LedgerTopic     string
	LedgerRetention time.Duration

	LogLevel  zerolog.Level
	LogFormat string

	warnings []string // found while parsing, returned by Load
}

// Error is a setting that is missing or malformed. Its message is one line
// naming the setting; it never holds a secret value.
type Error struct {
	Setting string // e.g. "ORDERSYNC_MAX_IN_FLIGHT (--max-in-flight)"
	Reason  string
}

func (e *Error) Error() string { return "invalid setting " + e.Setting + ": " + e.Reason }

// Loader reads the settings once the flag set it was bound to is parsed.
type Loader struct {
	fs      *flag.FlagSet
	flags   map[string]*string
	cfgFile *string
}

// Bind registers a flag for every setting, plus --config FILE, on fs.
func Bind(fs *flag.FlagSet) *Loader {
	l := &Loader{fs: fs, flags: make(map[string]*string, len(settings))}
	for _, s := range settings {
		if s.noFlag {
			continue
		}
		usage := s.usage + " [" + s.env() + "]"
		if s.def != "" {
			usage += " (default " + strconv.Quote(s.def) + ")"
		}
		v := new(string)
		l.flags[s.name] = v
		if s.def == "true" || s.def == "false" {
			fs.Var((*boolFlag)(v), s.flag(), usage) // --kafka-tls alone means true
			continue
		}
		fs.StringVar(v, s.flag(), "", usage)
	}
	l.cfgFile = fs.String("config", "", "YAML file with the same settings, keys in snake case (max_in_flight)")
	return l
}

// boolFlag is a true/false setting's flag: given alone it means "true", and
// its value is checked with the other settings, so a bad one names it.
type boolFlag string

func (b *boolFlag) String() string     { return string(*b) }
func (b *boolFlag) Set(v string) error { *b = boolFlag(v); return nil }
func (b *boolFlag) IsBoolFlag() bool   { return true }

// Load merges flags (set on the parsed flag set), the environment read with
// getenv, the YAML file named by --config, and the defaults, then checks what
// need asks for. Unknown ORDERSYNC_* variables, and a plain-http API base
// URL (to loopback, or allowed by ORDERSYNC_ALLOW_INSECURE_BASE_URL) and
// secret files readable by group or others, are returned as warnings.
func (l *Loader) Load(getenv func(string) (string, bool), environ []string, need Need) (*Config, []string, error) {
	file, err := l.readFile()
	if err != nil {
		return nil, nil, err
	}
	set := map[string]bool{}
	l.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	raw := make(map[string]string, len(settings))
	given := make(map[string]bool, len(settings)) // set by a flag, the environment or the file
	for _, s := range settings {
		given[s.name] = true
		switch {
		case !s.noFlag && set[s.flag()]:
			raw[s.name] = *l.flags[s.name]
		default:
			if v, ok := getenv(s.env()); ok {
				raw[s.name] = v
			} else if v, ok := file[s.key()]; ok {
				raw[s.name] = v
			} else {
				raw[s.name], given[s.name] = s.def, false
			}
		}
	}
	cfg, err := parse(raw, need)
	if err != nil {
		return nil, nil, err
	}
	warnings, err := parseRegistry(cfg, raw, given, need)
	if err != nil {
		return nil, nil, err
	}
	warnings = append(warnings, unknownEnv(environ)...)
	return cfg, append(warnings, cfg.warnings...), nil
}

func (l *Loader) readFile() (map[string]string, error) {
	if *l.cfgFile == "" {
		return nil, nil
	}
	label := "--config"
	data, err := os.ReadFile(*l.cfgFile)
	if err != nil {
		return nil, &Error{Setting: label, Reason: fmt.Sprintf("cannot read %s: %v", *l.cfgFile, errors.Unwrap(err))}
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Setting: label, Reason: fmt.Sprintf("%s is not a YAML mapping: %s", *l.cfgFile, firstLine(err.Error()))}
	}
	out := make(map[string]string, len(doc))
	for k, v := range doc {
		s, ok := lookupSetting(strings.ToUpper(k))
		if !ok || s.key() != k {
			return nil, &Error{Setting: label, Reason: fmt.Sprintf("%s: unknown key %q", *l.cfgFile, k)}
		}
		str, err := yamlScalar(v)
		if err != nil {
			return nil, &Error{Setting: label, Reason: fmt.Sprintf("%s: key %s: %v", *l.cfgFile, k, err)}
		}
		out[k] = str
	}
	return out, nil
}

// yamlScalar turns a YAML value into the string form the environment would
// carry: scalars as written, lists joined with commas.
func yamlScalar(v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(t), nil
	case []any:
		parts := make([]string, 0, len(t))
		for _, e := range t {
			s, err := yamlScalar(e)
			if err != nil {
				return "", err
			}
			if _, nested := e.([]any); nested {
				return "", errors.New("nested lists are not allowed")
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	default:
		return "", fmt.Errorf("a %T is not allowed here", v)
	}
}

func unknownEnv(environ []string) []string {
	var warnings []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, EnvPrefix)
		if !ok {
			continue
		}
		if _, known := lookupSetting(rest); !known {
			warnings = append(warnings, fmt.Sprintf("unknown environment variable %s is ignored", name))
		}
	}
	sort.Strings(warnings)
	return warnings
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// parser converts raw strings to typed values, stopping at the first error.
type parser struct {
	raw      map[string]string
	err      error
	warnings []string
}

func (p *parser) fail(name, format string, args ...any) {
	if p.err != nil {
		return
	}
	s, _ := lookupSetting(name)
	p.err = &Error{Setting: s.label(), Reason: fmt.Sprintf(format, args...)}
}

func (p *parser) str(name string) string { return strings.TrimSpace(p.raw[name]) }

func (p *parser) required(name string) string {
	v := p.str(name)
	if v == "" {
		p.fail(name, "required but not set")
	}
	return v
}

// list splits a comma-separated setting, trimming spaces and dropping empty
// and repeated items (a topic listed twice would be subscribed twice).
func (p *parser) list(name string) []string {
	var out []string
	for _, part := range strings.Split(p.str(name), ",") {
		if part = strings.TrimSpace(part); part != "" && !slices.Contains(out, part) {
			out = append(out, part)
		}
	}
	return out
}

func (p *parser) duration(name string, allowZero bool) time.Duration {
	v := p.str(name)
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		p.fail(name, "%q is not a Go duration such as 500ms or 1m", v)
	case d < 0 || (d == 0 && !allowZero):
		p.fail(name, "%q must be positive", v)
	}
	return d
}

func (p *parser) positiveInt(name string) int {
	v := p.str(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		p.fail(name, "%q must be a whole number of at least 1", v)
	}
	return n
}

func (p *parser) boolean(name string) bool {
	v := p.str(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, "%q must be true or false", v)
	}
	return b
}

func (p *parser) oneOf(name string, allowed ...string) string {
	v := p.str(name)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.fail(name, "%q must be one of %s", v, strings.Join(allowed, ", "))
	return v
}

func parse(raw map[string]string, need Need) (*Config, error) {
	p := &parser{raw: raw}
	c := &Config{
		GroupID:   p.str("GROUP_ID"),
		Mode:      p.oneOf("MODE", ModeServiceProvider, ModeChannel),
		SpAppID:   p.str("SP_APPID"),
		ChannelID: p.str("CHANNEL_ID"),
		SkipTypes: p.list("SKIP_TYPES"),
		MchID:     p.str("MCHID"),
		HTTPAddr:  p.str("HTTP_ADDR"),
		LogFormat: p.oneOf("LOG_FORMAT", "json", "console"),
	}
	if c.GroupID == "" {
		p.fail("GROUP_ID", "must not be empty")
	}
	c.LogLevel = parseLevel(p)
	c.MappingFile = p.str("MAPPING_FILE")
	c.Brokers = p.list("BROKERS")
	if need&NeedKafka != 0 && len(c.Brokers) == 0 {
		p.fail("BROKERS", "required but not set")
	}
	for _, b := range c.Brokers {
		if _, port, ok := strings.Cut(b, ":"); !ok || port == "" {
			p.fail("BROKERS", "%q is not host:port", b)
		}
	}
	c.Topics = p.list("TOPICS")
	if need&NeedTopics != 0 && len(c.Topics) == 0 {
		p.fail("TOPICS", "required but not set")
	}
	c.DLQTopic = p.str("DLQ_TOPIC")
	if c.DLQTopic == "" && len(c.Topics) > 0 {
		c.DLQTopic = c.Topics[0] + ".dlq"
	}
	for _, t := range c.Topics {
		if t == c.DLQTopic {
			p.fail("DLQ_TOPIC", "%q is also a source topic: dead letters would be consumed again", t)
		}
	}
	parseLedger(p, c)
	c.MaxInFlight = p.positiveInt("MAX_IN_FLIGHT")
	c.MaxPendingBytes = p.byteSize("MAX_PENDING_BYTES")
	c.RetryInitialInterval = p.duration("RETRY_INITIAL_INTERVAL", false)
	c.RetryMaxInterval = p.duration("RETRY_MAX_INTERVAL", false)
	c.RetryMaxElapsed = p.duration("RETRY_MAX_ELAPSED", false)
	if p.err == nil && c.RetryMaxInterval < c.RetryInitialInterval {
		p.fail("RETRY_MAX_INTERVAL", "%s is shorter than ORDERSYNC_RETRY_INITIAL_INTERVAL %s", c.RetryMaxInterval, c.RetryInitialInterval)
	}
	c.RateLimit = parseRate(p)
	c.RequestTimeout = p.duration("REQUEST_TIMEOUT", false)
	c.SessionTimeout = p.duration("SESSION_TIMEOUT", false)
	c.RebalanceTimeout = p.duration("REBALANCE_TIMEOUT", false)
	c.ShutdownTimeout = p.duration("SHUTDOWN_TIMEOUT", false)
	if c.HTTPAddr == "" {
		p.fail("HTTP_ADDR", "must not be empty (e.g. :9090)")
	}
	c.Kafka = parseKafka(p)
	c.BaseURL = parseBaseURL(p)
	if need&NeedWechat != 0 {
		checkBaseURL(p, c.BaseURL)
	}
	if need&NeedWechat != 0 && p.str("MERCHANTS_FILE") == "" {
		parseWechat(p, c)
	}
	if p.err != nil {
		return nil, p.err
	}
	c.warnings = p.warnings
	return c, nil
}

func parseLevel(p *parser) zerolog.Level {
	v := p.str("LOG_LEVEL")
	lvl, err := zerolog.ParseLevel(strings.ToLower(v))
	if err != nil || v == "" {
		p.fail("LOG_LEVEL", "%q must be one of trace, debug, info, warn, error", v)
	}
	return lvl
}

func parseRate(p *parser) float64 {
	v := p.str("RATE_LIMIT")
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r < 0 || r != r {
		p.fail("RATE_LIMIT", "%q must be a number of requests per second, 0 for unlimited", v)
	}
	return r
}

func parseBaseURL(p *parser) string {
	v := strings.TrimRight(p.str("WECHATPAY_BASE_URL"), "/")
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		p.fail("WECHATPAY_BASE_URL", "%q must be a scheme and host such as https://api.mch.weixin.qq.com", v)
	}
	return v
}

func parseWechat(p *parser, c *Config) {
	c.MchID = p.required("MCHID")
	c.MchCertSerial = p.required("MCH_CERT_SERIAL")
	if path := p.required("MCH_PRIVATE_KEY_FILE"); path != "" {
		p.checkPrivate("MCH_PRIVATE_KEY_FILE", path)
		key, err := uploader.LoadPrivateKey(path)
		if err != nil {
			p.fail("MCH_PRIVATE_KEY_FILE", "%v", err)
		}
		c.MchPrivateKey = key
	}
	pubFile, pubID, certFile := p.str("WECHATPAY_PUBLIC_KEY_FILE"), p.str("WECHATPAY_PUBLIC_KEY_ID"), p.str("WECHATPAY_CERT_FILE")
	switch {
	case pubFile == "" && pubID == "" && certFile == "":
		p.fail("WECHATPAY_PUBLIC_KEY_FILE", "required: set it with ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID, or set ORDERSYNC_WECHATPAY_CERT_FILE")
	case certFile != "" && (pubFile != "" || pubID != ""):
		p.fail("WECHATPAY_CERT_FILE", "set either the public key (ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE and _ID) or the platform certificate, not both")
	case certFile != "":
		cert, err := uploader.LoadCertificate(certFile)
		if err != nil {
			p.fail("WECHATPAY_CERT_FILE", "%v", err)
		}
		c.WechatPayCert = cert
	case pubFile == "":
		p.fail("WECHATPAY_PUBLIC_KEY_FILE", "required with ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID")
	case pubID == "":
		p.fail("WECHATPAY_PUBLIC_KEY_ID", "required with ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE (PUB_KEY_ID_… from the merchant portal)")
	default:
		key, err := uploader.LoadPublicKey(pubFile)
		if err != nil {
			p.fail("WECHATPAY_PUBLIC_KEY_FILE", "%v", err)
		}
		c.WechatPayPublicKey, c.WechatPayPublicKeyID = key, pubID
	}
}

// parseLedger reads the delivery ledger's settings: its topic defaults to
// <first topic>.ledger and must be neither a source nor the dead-letter topic.
func parseLedger(p *parser, c *Config) {
	c.Ledger = p.oneOf("LEDGER", "on", "off") == "on"
	c.LedgerRetention = p.duration("LEDGER_RETENTION", false)
	c.LedgerTopic = p.str("LEDGER_TOPIC")
	if c.LedgerTopic == "" && len(c.Topics) > 0 {
		c.LedgerTopic = c.Topics[0] + ".ledger"
	}
	if !c.Ledger || c.LedgerTopic == "" {
		return
	}
	for _, t := range append([]string{c.DLQTopic}, c.Topics...) {
		if t == c.LedgerTopic {
			p.fail("LEDGER_TOPIC", "%q is also a source or the dead-letter topic", t)
		}
	}
}
