package merchants

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/uploader"
)

// Observer receives the router's measurements. Calls are synchronous and
// must be cheap; an Observer must not call back into the Router.
type Observer interface {
	// UploadAttempt and SignCPU are every account's uploader.Observer calls.
	UploadAttempt(result string, httpStatus int, d time.Duration)
	SignCPU(d time.Duration)
	// AccountPaused reports that one account paused (with the reason) or resumed.
	AccountPaused(account string, paused bool, reason string)
	// Paused reports whether every account is paused.
	Paused(paused bool, reason string)
	// MerchantsHeld reports the number of held sub-merchants.
	MerchantsHeld(n int)
	// RegistryReloaded counts a reload, refused or not.
	RegistryReloaded(ok bool)
	// AccountRate reports an account's current request rate (requests/s).
	AccountRate(account string, perSecond float64)
	// AccountRemoved reports an account a reload took out of the registry.
	AccountRemoved(account string)
}

// RouterConfig configures a Router.
type RouterConfig struct {
	// Uploader is the template of each account's uploader: the account
	// fills in its ids, keys and rate limit.
	Uploader  uploader.Config
	SkipTypes []string
	// Hold is ORDERSYNC_MERCHANT_HOLD.
	Hold     time.Duration
	Observer Observer // required
	Logger   zerolog.Logger
}

// Router uploads each event through its sub-merchant's account: one
// wechatpay-go client, pause and request rate per account, and the merchant
// hold per sub-merchant. It maps events with the registry in force (Map),
// and an event is uploaded by the account it was mapped with, also when a
// reload replaced the registry since. Safe for concurrent use.
type Router struct {
	cfg   RouterConfig
	holds *holds
	log   zerolog.Logger

	reload sync.Mutex // serialises Reload
	cur    atomic.Pointer[snapshot]
	// transport is the connection pool every account's client shares
	// when RouterConfig.Uploader names none: an account costs a signer,
	// not connections.
	transport *http.Transport

	pmu       sync.Mutex // guards accountState.paused, .reason and allPaused
	allPaused bool
}

// snapshot is one registry with its accounts' uploaders and the mapper
// that assigns them.
type snapshot struct {
	reg      *Registry
	accounts map[string]*accountState
	mapper   *mapper.Mapper
	// gone ends when a reload replaces the snapshot (retire).
	gone   context.Context
	retire context.CancelFunc
}

// accountState is one account's client, pause and rate.
type accountState struct {
	acct *Account
	up   *uploader.Uploader
	// paused and reason follow the uploader's breaker (Router.pmu).
	paused bool
	reason string
}

// NewRouter builds a client per account of reg. It does no I/O.
func NewRouter(reg *Registry, cfg RouterConfig) (*Router, error) {
	r := &Router{cfg: cfg, log: cfg.Logger}
	if r.cfg.Uploader.Transport == nil {
		r.transport = uploader.NewTransport(cfg.Uploader.MaxInFlight, cfg.Uploader.RequestTimeout)
		r.cfg.Uploader.Transport = r.transport
	}
	r.holds = newHolds(cfg.Hold, r.holdChanged)
	snap, err := r.build(reg, nil)
	if err != nil {
		return nil, err
	}
	r.cur.Store(snap)
	for _, a := range snap.accounts {
		cfg.Observer.AccountPaused(a.acct.Name, false, "")
	}
	cfg.Observer.MerchantsHeld(0)
	return r, nil
}

// build makes the snapshot of reg, keeping the state of accounts of old
// that reg leaves unchanged.
func (r *Router) build(reg *Registry, old *snapshot) (*snapshot, error) {
	s := &snapshot{reg: reg, accounts: map[string]*accountState{}}
	s.gone, s.retire = context.WithCancel(context.Background())
	var built []*uploader.Uploader
	for _, name := range reg.names {
		a := reg.accounts[name]
		if old != nil {
			if st := old.accounts[name]; st != nil && sameAccount(st.acct, a) {
				s.accounts[name] = st
				continue
			}
		}
		st := &accountState{acct: a}
		up, err := uploader.New(r.uploaderConfig(st))
		if err != nil {
			for _, u := range built {
				u.Close()
			}
			return nil, &Error{Path: "accounts." + name, Reason: err.Error()}
		}
		built = append(built, up)
		st.up = up
		s.accounts[name] = st
	}
	m, err := mapper.New(mapper.Config{Mode: reg.FallbackMode(), SkipTypes: r.cfg.SkipTypes, Accounts: s})
	if err != nil {
		return nil, fmt.Errorf("merchant registry: %w", err)
	}
	s.mapper = m
	return s, nil
}

func (r *Router) uploaderConfig(st *accountState) uploader.Config {
	a := st.acct
	c := r.cfg.Uploader
	c.MchID, c.MchCertSerial, c.MchPrivateKey = a.MchID, a.CertSerial, a.PrivateKey
	c.WechatPayPublicKey, c.WechatPayPublicKeyID, c.WechatPayCert = a.WechatPayPublicKey, a.WechatPayPublicKeyID, a.WechatPayCert
	c.RateLimit = a.RateLimit
	c.Observer = accountObserver{r: r, st: st}
	c.YieldWhilePaused = true // a paused account must not hold the instance's in-flight slots
	return c
}

// sameAccount reports whether b can keep a's client, pause and rate.
func sameAccount(a, b *Account) bool {
	sameKey := a.PrivateKey != nil && b.PrivateKey != nil && a.PrivateKey.Equal(b.PrivateKey)
	samePub := (a.WechatPayPublicKey == nil && b.WechatPayPublicKey == nil) ||
		(a.WechatPayPublicKey != nil && b.WechatPayPublicKey != nil && a.WechatPayPublicKey.Equal(b.WechatPayPublicKey))
	sameCert := (a.WechatPayCert == nil && b.WechatPayCert == nil) ||
		(a.WechatPayCert != nil && b.WechatPayCert != nil && a.WechatPayCert.Equal(b.WechatPayCert))
	return sameKey && samePub && sameCert && a.Mode == b.Mode && a.MchID == b.MchID && a.CertSerial == b.CertSerial &&
		a.SpAppID == b.SpAppID && a.ChannelID == b.ChannelID && a.RateLimit == b.RateLimit &&
		a.WechatPayPublicKeyID == b.WechatPayPublicKeyID
}

// Account implements mapper.Accounts for the snapshot's registry.
func (s *snapshot) Account(subMchID string) (mapper.Account, bool) {
	a, err := s.reg.Resolve(subMchID)
	if err != nil {
		return mapper.Account{}, false
	}
	m := mapper.Account{Name: a.Name, Mode: a.Mode, MchID: a.MchID, SpAppID: a.SpAppID, ChannelID: a.ChannelID,
		Overridable: s.reg.single}
	if st := s.accounts[a.Name]; st != nil {
		m.Tag = st
	}
	return m, true
}

// Map maps one event with the registry in force: its account decides the
// mode and ids (see mapper.Config.Accounts).
func (r *Router) Map(value []byte, headers []mapper.Header) (mapper.Result, error) {
	return r.cur.Load().mapper.Map(value, headers)
}

// Registry returns the registry in force.
func (r *Router) Registry() *Registry { return r.cur.Load().reg }

// Reload puts reg in force: accounts it leaves unchanged keep their client,
// pause and rate; uploads in progress finish with the account they started
// with; every hold is released. An account whose client cannot be built
// refuses reg whole and the registry in force stays.
func (r *Router) Reload(reg *Registry) error {
	r.reload.Lock()
	defer r.reload.Unlock()
	old := r.cur.Load()
	snap, err := r.build(reg, old)
	if err != nil {
		r.cfg.Observer.RegistryReloaded(false)
		return err
	}
	r.cur.Store(snap)
	old.retire() // events waiting on a paused account look again
	for name, st := range old.accounts {
		if snap.accounts[name] != st {
			// Idle connections only: uploads in progress keep theirs.
			st.up.Close()
		}
		if snap.accounts[name] == nil {
			r.cfg.Observer.AccountRemoved(name)
		}
	}
	for name, st := range snap.accounts {
		if old.accounts[name] != st {
			r.cfg.Observer.AccountPaused(name, false, "")
		}
	}
	r.holds.releaseAll("merchant registry reloaded")
	r.cfg.Observer.RegistryReloaded(true)
	r.pmu.Lock()
	r.updatePaused()
	r.pmu.Unlock()
	return nil
}

// Uploader returns the uploader of a mapped event: its account's, behind
// its sub-merchant's hold. It returns nil for a result without an account.
func (r *Router) Uploader(res mapper.Result) *EventUploader {
	if res.Account == nil {
		return nil
	}
	st, _ := res.Account.Tag.(*accountState)
	if st == nil {
		return nil
	}
	return &EventUploader{r: r, st: st, sub: res.SubMchID}
}

// Paused reports whether every account is paused, naming each with its
// reason; /readyz fails only then.
func (r *Router) Paused() (bool, string) {
	r.pmu.Lock()
	defer r.pmu.Unlock()
	return r.paused()
}

// paused is Paused with r.pmu held.
func (r *Router) paused() (bool, string) {
	snap := r.cur.Load()
	var why []string
	for _, name := range snap.reg.names {
		st := snap.accounts[name]
		if !st.paused {
			return false, ""
		}
		why = append(why, name+": "+st.reason)
	}
	if len(why) == 1 && snap.reg.single {
		return true, snap.accounts[DefaultAccount].reason
	}
	return true, "every merchant account is paused: " + strings.Join(why, "; ")
}

// SomePaused reports whether any account is paused: its events hold back
// their partitions' commits, so /healthz does not call that a stall.
func (r *Router) SomePaused() bool { return len(r.PausedAccounts()) > 0 }

// PausedAccounts returns the names of the paused accounts, sorted.
func (r *Router) PausedAccounts() []string {
	r.pmu.Lock()
	defer r.pmu.Unlock()
	snap := r.cur.Load()
	var out []string
	for _, name := range snap.reg.names {
		if snap.accounts[name].paused {
			out = append(out, name)
		}
	}
	return out
}

// Held returns the held sub-merchants with their accounts.
func (r *Router) Held() map[string]string { return r.holds.list() }

// Close releases every account's idle connections.
func (r *Router) Close() {
	for _, st := range r.cur.Load().accounts {
		st.up.Close()
	}
	if r.transport != nil {
		r.transport.CloseIdleConnections()
	}
}

// updatePaused reports a change of the every-account pause; r.pmu is held.
func (r *Router) updatePaused() {
	all, why := r.paused()
	if all != r.allPaused {
		r.allPaused = all
		r.cfg.Observer.Paused(all, why)
	}
}

func (r *Router) holdChanged(sub, account string, held bool, why string, n int) {
	r.cfg.Observer.MerchantsHeld(n)
	if held {
		r.log.Warn().Str("sub_mchid", sub).Str("account", account).Str("last_answer", why).
			Dur("hold", r.cfg.Hold).Int("held", n).
			Msgf("sub-merchant held after %d merchant-level rejections in a row: its events are dead-lettered without a call, one probe per hold period; fix its account or mode in the merchant registry", HoldAfter)
		return
	}
	r.log.Info().Str("sub_mchid", sub).Str("account", account).Str("reason", why).Int("held", n).Msg("sub-merchant released")
}

// accountObserver is one account's uploader.Observer.
type accountObserver struct {
	r  *Router
	st *accountState
}

func (o accountObserver) UploadAttempt(result string, status int, d time.Duration) {
	o.r.cfg.Observer.UploadAttempt(result, status, d)
}

func (o accountObserver) SignCPU(d time.Duration) { o.r.cfg.Observer.SignCPU(d) }

// Paused follows the account's breaker; calls arrive in order per account.
func (o accountObserver) Paused(paused bool, reason string) {
	o.r.pmu.Lock()
	defer o.r.pmu.Unlock()
	o.st.paused, o.st.reason = paused, reason
	o.r.cfg.Observer.AccountPaused(o.st.acct.Name, paused, reason)
	o.r.updatePaused()
}

// EventUploader uploads the events of one sub-merchant through one
// account, behind the sub-merchant's hold.
type EventUploader struct {
	r   *Router
	st  *accountState
	sub string
}

// Upload sends body through the account, or, while the sub-merchant is
// held, returns its last rejection without a call (Err wraps ErrHeld).
func (e *EventUploader) Upload(ctx context.Context, body []byte) uploader.Outcome {
	probe, held := e.r.holds.admit(e.sub)
	if held != nil {
		return *held
	}
	st := e.state(e.r.cur.Load())
	out := st.up.Upload(ctx, body)
	e.r.holds.done(e.sub, st.acct.Name, probe, out)
	return out
}

// state is the account state an upload of the event starts with: the one
// it was mapped with, unless a reload has since given that account a new
// client (a new key, serial, WeChat Pay key or rate) and kept the ids its
// body carries — then the new one, so that a fixed key reaches the events
// waiting on the paused client. An upload in progress keeps its client.
func (e *EventUploader) state(snap *snapshot) *accountState {
	cur := snap.accounts[e.st.acct.Name]
	if cur == nil || cur == e.st || !sameIDs(cur.acct, e.st.acct) {
		return e.st
	}
	return cur
}

// sameIDs reports whether a body mapped for account a is one for b too.
func sameIDs(a, b *Account) bool {
	return a.Mode == b.Mode && a.MchID == b.MchID && a.SpAppID == b.SpAppID && a.ChannelID == b.ChannelID
}

// WaitProbe returns when the account is not paused or its probe is due,
// or with ctx's error: after a Paused outcome, wait here, then Upload
// again. A reload ends the wait on a replaced client and waits on the
// account's new one (see state).
func (e *EventUploader) WaitProbe(ctx context.Context) error {
	for {
		snap := e.r.cur.Load()
		wctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(snap.gone, cancel)
		err := e.state(snap).up.WaitProbe(wctx)
		stop()
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
	}
}

// Account names the account the uploader sends through.
func (e *EventUploader) Account() string { return e.st.acct.Name }

// RequestRate implements uploader.RateObserver: the account's adaptive rate.
func (o accountObserver) RequestRate(perSecond float64) {
	o.r.cfg.Observer.AccountRate(o.st.acct.Name, perSecond)
}
