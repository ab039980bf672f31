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

	"github.com/ordersync/ordersync/internal/mapper"
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

	// Settings names each setting as this command registered it, for an
	// error found after Load: cfg.Settings.HTTPAddr.Label(). It holds no values.
	Settings settings

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
	flags   map[int]*string // by spec index: the settings with a flag on fs
	cfgFile *string
}

// Bind registers --config FILE and the flags of the settings in groups on
// fs; with no groups (worker run), the flag of every setting that has one.
// A secret setting never gets a flag.
func Bind(fs *flag.FlagSet, groups ...Group) *Loader {
	l := &Loader{fs: fs, flags: map[int]*string{}}
	for _, s := range specs() {
		if s.flag == "" || s.secret || (len(groups) > 0 && !slices.ContainsFunc(s.groups, func(g Group) bool { return slices.Contains(groups, g) })) {
			continue
		}
		usage := s.usage + " [" + s.env + "]"
		if s.def != "" {
			usage += " (default " + strconv.Quote(s.def) + ")"
		}
		v := new(string)
		l.flags[s.index] = v
		if s.boolean {
			fs.Var((*boolFlag)(v), s.flag, usage) // --kafka-tls alone means true
			continue
		}
		fs.StringVar(v, s.flag, "", usage)
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
	var all settings
	for _, s := range specs() {
		v := s.field(&all)
		flagValue, bound := l.flags[s.index]
		v.env, v.label, v.given = s.env, s.label(bound), true
		if bound && set[s.flag] {
			v.raw = *flagValue
		} else if e, ok := getenv(s.env); ok {
			v.raw = e
		} else if f, ok := file[s.yaml]; ok {
			v.raw = f
		} else {
			v.raw, v.given = s.def, false
		}
	}
	cfg, err := parse(&all, need)
	if err != nil {
		return nil, nil, err
	}
	warnings, err := parseRegistry(cfg, &all, need)
	if err != nil {
		return nil, nil, err
	}
	cfg.Settings = names(all)
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
		if _, ok := specByKey(k); !ok {
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
		if !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		if _, known := specByEnv(name); !known {
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

// parser converts the settings to typed values, stopping at the first error.
type parser struct {
	s        *settings
	err      error
	warnings []string
}

func (p *parser) fail(v value, format string, args ...any) {
	if p.err != nil {
		return
	}
	p.err = &Error{Setting: v.label, Reason: fmt.Sprintf(format, args...)}
}

func (p *parser) str(v value) string { return strings.TrimSpace(v.raw) }

func (p *parser) required(v value) string {
	s := p.str(v)
	if s == "" {
		p.fail(v, "required but not set")
	}
	return s
}

// list splits a comma-separated setting, trimming spaces and dropping empty
// and repeated items (a topic listed twice would be subscribed twice).
func (p *parser) list(name value) []string {
	var out []string
	for _, part := range strings.Split(p.str(name), ",") {
		if part = strings.TrimSpace(part); part != "" && !slices.Contains(out, part) {
			out = append(out, part)
		}
	}
	return out
}

func (p *parser) duration(name value, allowZero bool) time.Duration {
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

func (p *parser) positiveInt(name value) int {
	v := p.str(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		p.fail(name, "%q must be a whole number of at least 1", v)
	}
	return n
}

func (p *parser) boolean(name value) bool {
	v := p.str(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, "%q must be true or false", v)
	}
	return b
}

func (p *parser) oneOf(name value, allowed ...string) string {
	v := p.str(name)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.fail(name, "%q must be one of %s", v, strings.Join(allowed, ", "))
	return v
}

func parse(s *settings, need Need) (*Config, error) {
	p := &parser{s: s}
	c := &Config{
		GroupID:   p.str(p.s.GroupID),
		Mode:      p.oneOf(p.s.Mode, string(mapper.ModeServiceProvider), string(mapper.ModeChannel)),
		SpAppID:   p.str(p.s.SpAppID),
		ChannelID: p.str(p.s.ChannelID),
		SkipTypes: p.list(p.s.SkipTypes),
		MchID:     p.str(p.s.MchID),
		HTTPAddr:  p.str(p.s.HTTPAddr),
		LogFormat: p.oneOf(p.s.LogFormat, "json", "console"),
	}
	if c.GroupID == "" {
		p.fail(p.s.GroupID, "must not be empty")
	}
	c.LogLevel = parseLevel(p)
	c.MappingFile = p.str(p.s.MappingFile)
	c.Brokers = p.list(p.s.Brokers)
	if need&NeedKafka != 0 && len(c.Brokers) == 0 {
		p.fail(p.s.Brokers, "required but not set")
	}
	for _, b := range c.Brokers {
		if _, port, ok := strings.Cut(b, ":"); !ok || port == "" {
			p.fail(p.s.Brokers, "%q is not host:port", b)
		}
	}
	c.Topics = p.list(p.s.Topics)
	if need&NeedTopics != 0 && len(c.Topics) == 0 {
		p.fail(p.s.Topics, "required but not set")
	}
	c.DLQTopic = p.str(p.s.DLQTopic)
	if c.DLQTopic == "" && len(c.Topics) > 0 {
		c.DLQTopic = c.Topics[0] + ".dlq"
	}
	for _, t := range c.Topics {
		if t == c.DLQTopic {
			p.fail(p.s.DLQTopic, "%q is also a source topic: dead letters would be consumed again", t)
		}
	}
	parseLedger(p, c)
	c.MaxInFlight = p.positiveInt(p.s.MaxInFlight)
	c.MaxPendingBytes = p.byteSize(p.s.MaxPendingBytes)
	c.RetryInitialInterval = p.duration(p.s.RetryInitialInterval, false)
	c.RetryMaxInterval = p.duration(p.s.RetryMaxInterval, false)
	c.RetryMaxElapsed = p.duration(p.s.RetryMaxElapsed, false)
	if p.err == nil && c.RetryMaxInterval < c.RetryInitialInterval {
		p.fail(p.s.RetryMaxInterval, "%s is shorter than ORDERSYNC_RETRY_INITIAL_INTERVAL %s", c.RetryMaxInterval, c.RetryInitialInterval)
	}
	c.RateLimit = parseRate(p)
	c.RequestTimeout = p.duration(p.s.RequestTimeout, false)
	c.SessionTimeout = p.duration(p.s.SessionTimeout, false)
	c.RebalanceTimeout = p.duration(p.s.RebalanceTimeout, false)
	c.ShutdownTimeout = p.duration(p.s.ShutdownTimeout, false)
	if c.HTTPAddr == "" {
		p.fail(p.s.HTTPAddr, "must not be empty (e.g. :9090)")
	}
	c.Kafka = parseKafka(p)
	c.BaseURL = parseBaseURL(p)
	if need&NeedWechat != 0 {
		checkBaseURL(p, c.BaseURL)
	}
	if need&NeedWechat != 0 && p.str(p.s.MerchantsFile) == "" {
		parseWechat(p, c)
	}
	if p.err != nil {
		return nil, p.err
	}
	c.warnings = p.warnings
	return c, nil
}

func parseLevel(p *parser) zerolog.Level {
	v := p.str(p.s.LogLevel)
	lvl, err := zerolog.ParseLevel(strings.ToLower(v))
	if err != nil || v == "" {
		p.fail(p.s.LogLevel, "%q must be one of trace, debug, info, warn, error", v)
	}
	return lvl
}

func parseRate(p *parser) float64 {
	v := p.str(p.s.RateLimit)
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r < 0 || r != r {
		p.fail(p.s.RateLimit, "%q must be a number of requests per second, 0 for unlimited", v)
	}
	return r
}

func parseBaseURL(p *parser) string {
	v := strings.TrimRight(p.str(p.s.WechatPayBaseURL), "/")
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		p.fail(p.s.WechatPayBaseURL, "%q must be a scheme and host such as https://api.mch.weixin.qq.com", v)
	}
	return v
}

func parseWechat(p *parser, c *Config) {
	c.MchID = p.required(p.s.MchID)
	c.MchCertSerial = p.required(p.s.MchCertSerial)
	if path := p.required(p.s.MchPrivateKeyFile); path != "" {
		p.checkPrivate(p.s.MchPrivateKeyFile, path)
		key, err := uploader.LoadPrivateKey(path)
		if err != nil {
			p.fail(p.s.MchPrivateKeyFile, "%v", err)
		}
		c.MchPrivateKey = key
	}
	pubFile, pubID, certFile := p.str(p.s.WechatPayPublicKeyFile), p.str(p.s.WechatPayPublicKeyID), p.str(p.s.WechatPayCertFile)
	switch {
	case pubFile == "" && pubID == "" && certFile == "":
		p.fail(p.s.WechatPayPublicKeyFile, "required: set it with ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID, or set ORDERSYNC_WECHATPAY_CERT_FILE")
	case certFile != "" && (pubFile != "" || pubID != ""):
		p.fail(p.s.WechatPayCertFile, "set either the public key (ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE and _ID) or the platform certificate, not both")
	case certFile != "":
		cert, err := uploader.LoadCertificate(certFile)
		if err != nil {
			p.fail(p.s.WechatPayCertFile, "%v", err)
		}
		c.WechatPayCert = cert
	case pubFile == "":
		p.fail(p.s.WechatPayPublicKeyFile, "required with ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID")
	case pubID == "":
		p.fail(p.s.WechatPayPublicKeyID, "required with ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE (PUB_KEY_ID_… from the merchant portal)")
	default:
		key, err := uploader.LoadPublicKey(pubFile)
		if err != nil {
			p.fail(p.s.WechatPayPublicKeyFile, "%v", err)
		}
		c.WechatPayPublicKey, c.WechatPayPublicKeyID = key, pubID
	}
}

// parseLedger reads the delivery ledger's settings: its topic defaults to
// <first topic>.ledger and must be neither a source nor the dead-letter topic.
func parseLedger(p *parser, c *Config) {
	c.Ledger = p.oneOf(p.s.Ledger, "on", "off") == "on"
	c.LedgerRetention = p.duration(p.s.LedgerRetention, false)
	c.LedgerTopic = p.str(p.s.LedgerTopic)
	if c.LedgerTopic == "" && len(c.Topics) > 0 {
		c.LedgerTopic = c.Topics[0] + ".ledger"
	}
	if !c.Ledger || c.LedgerTopic == "" {
		return
	}
	for _, t := range append([]string{c.DLQTopic}, c.Topics...) {
		if t == c.LedgerTopic {
			p.fail(p.s.LedgerTopic, "%q is also a source or the dead-letter topic", t)
		}
	}
}
