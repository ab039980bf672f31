// Package merchants is the merchant registry: which WeChat Pay merchant
// account signs the events of each sub-merchant, and in which mode
// (README "Serving many restaurants"). Load reads and checks the registry
// file; a Registry is immutable and safe for concurrent use — a reload builds
// a new one.
package merchants

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/uploader"
)

// DefaultAccount is the name of the one account that the single-account
// settings form when no registry file is set.
const DefaultAccount = "default"

// Account is one merchant account: the mode its sub-merchants are reported
// in, the ids sent in the body and the keys that sign and verify.
type Account struct {
	Name       string
	Mode       mapper.Mode
	MchID      string // signs the requests; sp_mchid in service-provider mode
	CertSerial string
	SpAppID    string // service-provider mode
	ChannelID  string // channel mode; defaults to MchID
	// RateLimit is the ceiling of the account's request rate per instance,
	// requests per second; 0 = no ceiling.
	RateLimit float64

	PrivateKeyFile         string
	WechatPayPublicKeyFile string
	WechatPayPublicKeyID   string
	WechatPayCertFile      string
	// Keys are loaded only when Load is asked to (see LoadOptions.Keys).
	PrivateKey         *rsa.PrivateKey
	WechatPayPublicKey *rsa.PublicKey
	WechatPayCert      *x509.Certificate
}

// Registry maps sub-merchants to accounts.
type Registry struct {
	accounts  map[string]*Account
	names     []string          // sorted account names
	merchants map[string]string // sub_mchid → account name
	def       string            // default account, "" = none
	single    bool              // formed by Single: events may override the ids
	sum       []byte            // SHA-256 of the file Load read, nil otherwise
}

// Error is a registry that cannot be used. Path names the place inside the
// file, in YAML key notation (accounts.sp-east.private_key_file); it never
// holds a key's content.
type Error struct {
	Path   string
	Reason string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// ErrNoAccount reports a sub-merchant that the registry does not list and
// that no default account covers.
var ErrNoAccount = errors.New("sub-merchant not in the merchant registry and no default_account")

// LoadOptions says what Load checks beyond the file itself.
type LoadOptions struct {
	// Keys loads every key and certificate file; without it (worker
	// validate) the file names are only required to be set.
	Keys bool
}

var accountName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Load reads the registry file at path and checks it whole: the first
// problem found is returned as an *Error.
func Load(path string, opts LoadOptions) (*Registry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Reason: "cannot read: " + fsReason(err)}
	}
	r, err := Parse(data, opts)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	r.sum = sum[:]
	return r, nil
}

// Parse checks a registry document; see Load.
func Parse(data []byte, opts LoadOptions) (*Registry, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Reason: "not YAML: " + firstLine(err.Error())}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &Error{Reason: "must be a YAML mapping with accounts and merchants"}
	}
	r := &Registry{accounts: map[string]*Account{}, merchants: map[string]string{}}
	var accounts, merchants *yaml.Node
	err := eachPair(doc.Content[0], "", func(key string, v *yaml.Node) error {
		switch key {
		case "accounts":
			accounts = v
		case "merchants":
			merchants = v
		case "default_account":
			s, err := scalar(v, key)
			r.def = s
			return err
		default:
			return &Error{Path: key, Reason: "unknown key (want accounts, merchants, default_account)"}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if accounts == nil {
		return nil, &Error{Path: "accounts", Reason: "required: at least one account"}
	}
	if accounts.Kind != yaml.MappingNode || len(accounts.Content) == 0 {
		return nil, &Error{Path: "accounts", Reason: "must be a mapping of account names to accounts, at least one"}
	}
	err = eachPair(accounts, "accounts", func(name string, v *yaml.Node) error {
		if !accountName.MatchString(name) {
			return &Error{Path: "accounts." + name, Reason: "account name may hold only letters, digits, '-' and '_'"}
		}
		a, err := parseAccount(name, v, opts)
		if err != nil {
			return err
		}
		r.accounts[name] = a
		r.names = append(r.names, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(r.names)
	if merchants != nil {
		if err := r.parseMerchants(merchants); err != nil {
			return nil, err
		}
	}
	if r.def != "" && r.accounts[r.def] == nil {
		return nil, &Error{Path: "default_account", Reason: fmt.Sprintf("%q is not an account under accounts", r.def)}
	}
	if len(r.merchants) == 0 && r.def == "" {
		return nil, &Error{Path: "merchants", Reason: "required: list sub-merchants or set default_account"}
	}
	return r, nil
}

func (r *Registry) parseMerchants(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &Error{Path: "merchants", Reason: "must be a mapping of sub_mchid to account name"}
	}
	return eachPair(n, "merchants", func(sub string, v *yaml.Node) error {
		p := "merchants." + sub
		if sub == "" || len(sub) > 32 {
			return &Error{Path: p, Reason: "sub_mchid must be 1-32 characters"}
		}
		name, err := scalar(v, p)
		if err != nil {
			return err
		}
		if r.accounts[name] == nil {
			return &Error{Path: p, Reason: fmt.Sprintf("account %q is not listed under accounts", name)}
		}
		r.merchants[sub] = name
		return nil
	})
}

var accountKeys = []string{"mode", "mchid", "cert_serial", "private_key_file", "wechatpay_public_key_file",
	"wechatpay_public_key_id", "wechatpay_cert_file", "sp_appid", "channel_id", "rate_limit"}

func parseAccount(name string, n *yaml.Node, opts LoadOptions) (*Account, error) {
	base := "accounts." + name
	if n.Kind != yaml.MappingNode {
		return nil, &Error{Path: base, Reason: "must be a mapping"}
	}
	vals := map[string]string{}
	err := eachPair(n, base, func(key string, v *yaml.Node) error {
		if !slices.Contains(accountKeys, key) {
			return &Error{Path: base + "." + key, Reason: "unknown key (want " + strings.Join(accountKeys, ", ") + ")"}
		}
		s, err := scalar(v, base+"."+key)
		vals[key] = s
		return err
	})
	if err != nil {
		return nil, err
	}
	at := func(key string) string { return base + "." + key }
	required := func(key string) error {
		if vals[key] == "" {
			return &Error{Path: at(key), Reason: "required"}
		}
		return nil
	}
	a := &Account{
		Name: name, MchID: vals["mchid"], CertSerial: vals["cert_serial"],
		SpAppID: vals["sp_appid"], ChannelID: vals["channel_id"],
		PrivateKeyFile:         vals["private_key_file"],
		WechatPayPublicKeyFile: vals["wechatpay_public_key_file"],
		WechatPayPublicKeyID:   vals["wechatpay_public_key_id"],
		WechatPayCertFile:      vals["wechatpay_cert_file"],
	}
	mode, err := mapper.ParseMode(vals["mode"])
	if err != nil {
		return nil, &Error{Path: at("mode"), Reason: fmt.Sprintf("unknown mode %q: want service_provider or channel", vals["mode"])}
	}
	a.Mode = mode
	for _, k := range []string{"mchid", "cert_serial", "private_key_file"} {
		if err := required(k); err != nil {
			return nil, err
		}
	}
	switch mode {
	case mapper.ModeServiceProvider:
		if a.ChannelID != "" {
			return nil, &Error{Path: at("channel_id"), Reason: "not used in service_provider mode"}
		}
		if err := required("sp_appid"); err != nil {
			return nil, err
		}
	case mapper.ModeChannel:
		if a.SpAppID != "" {
			return nil, &Error{Path: at("sp_appid"), Reason: "not used in channel mode"}
		}
		if a.ChannelID == "" {
			a.ChannelID = a.MchID
		}
	}
	if v := vals["rate_limit"]; v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f != f {
			return nil, &Error{Path: at("rate_limit"), Reason: fmt.Sprintf("%q must be requests per second, 0 for no ceiling", v)}
		}
		a.RateLimit = f
	}
	pub, pubID, cert := a.WechatPayPublicKeyFile, a.WechatPayPublicKeyID, a.WechatPayCertFile
	switch {
	case cert != "" && (pub != "" || pubID != ""):
		return nil, &Error{Path: at("wechatpay_cert_file"), Reason: "set either the public key (wechatpay_public_key_file and _id) or the platform certificate, not both"}
	case cert == "" && pub == "" && pubID == "":
		return nil, &Error{Path: at("wechatpay_public_key_file"), Reason: "required: set it with wechatpay_public_key_id, or set wechatpay_cert_file"}
	case cert == "" && pub == "":
		return nil, &Error{Path: at("wechatpay_public_key_file"), Reason: "required with wechatpay_public_key_id"}
	case cert == "" && pubID == "":
		return nil, &Error{Path: at("wechatpay_public_key_id"), Reason: "required with wechatpay_public_key_file (PUB_KEY_ID_… from the merchant portal)"}
	}
	if !opts.Keys {
		return a, nil
	}
	if a.PrivateKey, err = uploader.LoadPrivateKey(a.PrivateKeyFile); err != nil {
		return nil, keyError(at("private_key_file"), err)
	}
	if cert != "" {
		if a.WechatPayCert, err = uploader.LoadCertificate(cert); err != nil {
			return nil, keyError(at("wechatpay_cert_file"), err)
		}
	} else if a.WechatPayPublicKey, err = uploader.LoadPublicKey(pub); err != nil {
		return nil, keyError(at("wechatpay_public_key_file"), err)
	}
	return a, nil
}

// keyError names a key file that cannot be used, without its content.
func keyError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &Error{Path: path, Reason: fsReason(err)}
	}
	if errors.Is(err, uploader.ErrKeyFile) {
		return &Error{Path: path, Reason: "not a usable PEM: " + err.Error()}
	}
	return &Error{Path: path, Reason: err.Error()}
}

// fsReason is the short cause of a file error: "no such file",
// "permission denied".
func fsReason(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// eachPair calls fn for each key of mapping n in order; a repeated key is an
// error at its path.
func eachPair(n *yaml.Node, base string, fn func(key string, v *yaml.Node) error) error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		p := k.Value
		if base != "" {
			p = base + "." + k.Value
		}
		if k.Kind != yaml.ScalarNode {
			return &Error{Path: base, Reason: fmt.Sprintf("line %d: keys must be plain strings", k.Line)}
		}
		if seen[k.Value] {
			return &Error{Path: p, Reason: fmt.Sprintf("line %d: repeated key", k.Line)}
		}
		seen[k.Value] = true
		if err := fn(k.Value, n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// scalar returns the text of a scalar node (numbers as written).
func scalar(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", &Error{Path: path, Reason: fmt.Sprintf("line %d: must be a single value", n.Line)}
	}
	return strings.TrimSpace(n.Value), nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Single returns the registry of one account named DefaultAccount that
// covers every sub-merchant: the single-account settings, taken as given (a
// channel mode without ChannelID leaves channel_id to each event).
func Single(a Account) *Registry {
	a.Name = DefaultAccount
	return &Registry{
		accounts:  map[string]*Account{DefaultAccount: &a},
		names:     []string{DefaultAccount},
		merchants: map[string]string{},
		def:       DefaultAccount,
		single:    true,
	}
}

// Resolve returns the account of a sub-merchant: its own, else the default
// account, else ErrNoAccount.
func (r *Registry) Resolve(subMchID string) (*Account, error) {
	if name, ok := r.merchants[subMchID]; ok {
		return r.accounts[name], nil
	}
	if r.def != "" {
		return r.accounts[r.def], nil
	}
	return nil, ErrNoAccount
}

// Account returns the account of that name, or nil.
func (r *Registry) Account(name string) *Account { return r.accounts[name] }

// Names returns the account names, sorted.
func (r *Registry) Names() []string { return slices.Clone(r.names) }

// Default returns the default account's name, "" when there is none.
func (r *Registry) Default() string { return r.def }

// Merchants returns how many sub-merchants are listed.
func (r *Registry) Merchants() int { return len(r.merchants) }

// FallbackMode is the mode whose rules check an event that no account
// covers: the default account's, else service_provider.
func (r *Registry) FallbackMode() mapper.Mode {
	if a := r.accounts[r.def]; a != nil {
		return a.Mode
	}
	return mapper.ModeServiceProvider
}

// MapperAccounts is the registry as mapper.Config.Accounts, for mapping
// without uploading (worker validate): it needs no keys.
func (r *Registry) MapperAccounts() mapper.Accounts { return &snapshot{reg: r} }
