package chaos

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/kafkatest"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/merchants"
	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/sandbox/sandboxtest"
	"github.com/ordersync/ordersync/internal/stack"
)

// The registry scenario's accounts: the stack's service provider sp-east
// and a channel partner; the sample's sub-merchant is sp-east's, and
// channelSubMchID is an indirect restaurant of the channel partner.
const (
	channelMchID    = "1230000200"
	channelSubMchID = "1900000201"
)

// registryFile is the scenario's ORDERSYNC_MERCHANTS_FILE.
type registryFile struct {
	path   string
	sp, ch *sandbox.Credentials
}

// write files channelSubMchID under the account under, with the channel
// partner signing with the key in channelKey; the file is replaced whole,
// so that the worker's file watcher never reads half of it.
func (r registryFile) write(t *testing.T, under, channelKey string) {
	t.Helper()
	sandboxtest.WriteRegistry(t, r.path, sandboxtest.Registry{SP: r.sp, Channel: r.ch, ChannelKey: channelKey, Default: "sp-east",
		Merchants: map[string]string{sample.SubMchID: "sp-east", channelSubMchID: under}})
}

// moveOrders gives every nth order of the sample's sub-merchant to
// channelSubMchID (same length: every shape stays valid); with rejected,
// the moved events to deliver are expected rejected first (and, with
// options.replayed, delivered after their replay).
func moveOrders(n int, rejected *bool) func([]sample.Event) {
	from, to := []byte(`"`+sample.SubMchID+`"`), []byte(`"`+channelSubMchID+`"`)
	return func(events []sample.Event) {
		orders := map[string]int{}
		for i, e := range events {
			k, seen := orders[e.OrderNo]
			if !seen {
				k = len(orders)
				orders[e.OrderNo] = k
			}
			if k%n != n-1 || !bytes.Contains(e.Value, from) {
				continue
			}
			events[i].Value = bytes.ReplaceAll(e.Value, from, to)
			if *rejected && e.Expect == sample.ExpectDelivered {
				events[i].Expect = sample.ExpectRejected
			}
		}
	}
}

// registryAccounts runs the worker with a merchant registry of two
// accounts in different modes, in two acts.
//
// A sub-merchant filed under the wrong account: the API rejects it, it is
// held after merchants.HoldAfter rejections (the API sees at most that many
// plus the uploads in flight of it; the hold period outlasts the run, so
// no probe), its events are dead-lettered with ordersync.merchant_held;
// the registry is fixed, SIGHUP, `worker replay --merchant` — every event
// delivered through the right account, in its mode.
//
// One account signing with a wrong key (401): it pauses, the other account
// delivers a new batch meanwhile, /readyz stays 200 and nothing is
// dead-lettered; the right key reloaded, its waiting events are delivered.
func registryAccounts(t *testing.T, orders int, timeout time.Duration) {
	chCreds, err := sandbox.GenerateAccount(filepath.Join(t.TempDir(), "bank-channel"), channelMchID)
	if err != nil {
		t.Fatal(err)
	}
	reg := registryFile{ch: chCreds}
	rejected := true
	opts := mixed(11, orders)
	opts.RejectedPercent = 0 // the API's only rejections are the mis-filed sub-merchant's
	h := newHarness(t, options{
		sample: opts, replayed: true, edit: moveOrders(4, &rejected),
		accounts: []sandbox.Account{{Credentials: chCreds}},
		bindings: []sandbox.Binding{
			{SubMchID: sample.SubMchID, MchID: sandbox.DefaultMchID, Mode: "service_provider"},
			{SubMchID: channelSubMchID, MchID: channelMchID, Mode: "channel"},
		},
		// The expected bodies are those of the registry as it ends: fixed.
		mapping: func(st *stack.Stack) (mapper.Config, error) {
			reg.sp, reg.path = st.Creds, filepath.Join(t.TempDir(), "merchants.yaml")
			reg.write(t, "bank-channel", chCreds.MchPrivateKeyFile)
			r, err := merchants.Load(reg.path, merchants.LoadOptions{Keys: true})
			if err != nil {
				return mapper.Config{}, err
			}
			reg.write(t, "sp-east", chCreds.MchPrivateKeyFile) // what the worker starts with
			return mapper.Config{Mode: r.FallbackMode(), SkipTypes: mapper.DefaultSkipTypes, Accounts: r.MapperAccounts()}, nil
		},
	})
	h.opts.env = append(h.opts.env, "ORDERSYNC_MCHID=", "ORDERSYNC_MCH_CERT_SERIAL=", "ORDERSYNC_MCH_PRIVATE_KEY_FILE=",
		"ORDERSYNC_WECHATPAY_PUBLIC_KEY_FILE=", "ORDERSYNC_WECHATPAY_PUBLIC_KEY_ID=", "ORDERSYNC_SP_APPID=",
		"ORDERSYNC_MERCHANTS_FILE="+reg.path)
	misfiled := 0
	for _, e := range h.events {
		if e.Expect == sample.ExpectRejected {
			misfiled++
		}
	}
	if misfiled == 0 {
		t.Fatal("the sample gave the channel partner's sub-merchant no event to deliver")
	}
	p := h.start()

	// Act 1: held, fixed, replayed.
	h.waitCommitted(h.produced, timeout)
	calls := h.st.Sandbox.Stats().ByStatus[400]
	if bound := int64(merchants.HoldAfter + maxInFlight); calls == 0 || calls > bound {
		t.Errorf("the API answered %d requests of the mis-filed sub-merchant 400, want 1 to %d (%d rejections, %d in flight)",
			calls, bound, merchants.HoldAfter, maxInFlight)
	}
	if m := h.scrapeAll(p); m["ordersync_merchants_held"] != 1 {
		t.Errorf("ordersync_merchants_held = %v, want 1", m["ordersync_merchants_held"])
	}
	dead := kafkatest.ReadTopic(t, h.st.Broker, h.st.DLQTopic)
	var held int
	for _, m := range dead {
		if header(m, dlq.HeaderSubMchID) == channelSubMchID && header(m, dlq.HeaderMerchantHeld) == "true" {
			held++
			if a := header(m, dlq.HeaderAccount); a != "sp-east" {
				t.Errorf("a held dead letter names account %q, want sp-east", a)
			}
		}
	}
	if held == 0 || int64(held)+calls < int64(misfiled) {
		t.Errorf("%d dead letters held without a call and %d calls, for %d events of the mis-filed sub-merchant", held, calls, misfiled)
	}
	if logs, err := os.ReadFile(p.log.Name()); err != nil || !bytes.Contains(logs, []byte(`"sub_mchid":"`+channelSubMchID+`"`)) ||
		!bytes.Contains(logs, []byte("sub-merchant held")) {
		t.Errorf("no log line holds the sub-merchant %s (%v)", channelSubMchID, err)
	}
	reg.write(t, "bank-channel", chCreds.MchPrivateKeyFile)
	h.reload(p)
	h.waitMetrics(p, 30*time.Second, "the held sub-merchant released", func(m map[string]float64) bool {
		return m["ordersync_merchants_held"] == 0
	})
	n, out := h.replay("--merchant", channelSubMchID, "--class", "rejected")
	if n != misfiled {
		t.Errorf("replay --merchant republished %d records, want the %d rejected events", n, misfiled)
	}
	h.produced += int64(n)
	h.waitCommitted(h.produced, timeout)

	// Act 2: bank-channel signs with sp-east's key. A small batch: the
	// channel partner's waiting orders take fewer than maxInFlight slots
	// and sp-east's events fit in each partition's window, so sp-east's
	// delivery does not wait behind them.
	reg.write(t, "bank-channel", h.st.Creds.MchPrivateKeyFile)
	h.reload(p)
	rejected = false
	more := mixed(12, 40)
	more.InvalidPercent, more.RejectedPercent = 0, 0
	more.Start = time.Now().AddDate(0, 0, 1) // other order numbers
	before := len(h.events)
	h.produceMore(more)
	spEast := map[string]bool{}
	for _, e := range h.events[before:] {
		if e.Expect == sample.ExpectDelivered && !bytes.Contains(e.Value, []byte(channelSubMchID)) {
			spEast[e.EventID] = true
		}
	}
	h.waitMetrics(p, timeout, "bank-channel paused while sp-east delivered the new batch", func(m map[string]float64) bool {
		return m["ordersync_account_paused{account=bank-channel}"] == 1 && h.deliveredAll(spEast)
	})
	if m := h.scrapeAll(p); m["ordersync_account_paused{account=sp-east}"] != 0 {
		t.Error("sp-east paused too")
	}
	if code, body := h.get(p, "/readyz"); code != 200 {
		t.Errorf("/readyz with one of two accounts paused: %d %q, want 200", code, body)
	}
	if h.st.Sandbox.Stats().ByStatus[401] == 0 {
		t.Error("the sandbox answered no 401: the wrong key did not bite")
	}
	reg.write(t, "bank-channel", chCreds.MchPrivateKeyFile)
	h.reload(p)
	h.waitMetrics(p, timeout, "bank-channel resumed", func(m map[string]float64) bool {
		return m["ordersync_account_paused{account=bank-channel}"] == 0
	})
	unknown := h.unknownAttempts(p)
	f, _ := h.result(timeout)
	h.scan(out)
	t.Logf("registry: %d events of the mis-filed sub-merchant, %d API calls for them, %d held without a call; %d uploads recorded in all",
		misfiled, calls, held, f.Uploads)
	boundNoCrash(t, f, unknown)
}

// reload sends p SIGHUP and waits until it has reloaded the registry file
// as written before the call (the file watcher may have done it already;
// a reload counted after the first scrape read the file after it was
// written).
func (h *harness) reload(p *proc) {
	h.t.Helper()
	const ok = "ordersync_registry_reloads_total{result=ok}"
	before := h.scrapeAll(p)[ok]
	if err := p.Signal(syscall.SIGHUP); err != nil {
		h.t.Fatal(err)
	}
	h.waitMetrics(p, 30*time.Second, "a registry reload", func(m map[string]float64) bool {
		return m[ok] > before
	})
	if m := h.scrapeAll(p); m["ordersync_registry_reloads_total{result=refused}"] != 0 {
		h.t.Fatal("a registry reload was refused")
	}
}

// deliveredAll reports whether the sandbox recorded an upload of every
// event in ids, taking those it finds out of ids.
func (h *harness) deliveredAll(ids map[string]bool) bool {
	for _, r := range h.st.Sandbox.Records() {
		if ref, ok := h.want.valid[string(r.Body)]; ok {
			delete(ids, ref.eventID)
		}
	}
	return len(ids) == 0
}
