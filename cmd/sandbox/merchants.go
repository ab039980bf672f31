package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// The sample merchant registry (--merchants): the credentials' account
// reports its directly connected restaurant itself, a second account is a
// channel partner reporting an indirect one.
const (
	channelAccount = "bank-channel"
	channelMchID   = "1230000200"
	// subDirect is the sample orders' sub-merchant, bound to sp-east in
	// service-provider mode; subIndirect is bound to bank-channel in
	// channel mode.
	subDirect   = sample.SubMchID
	subIndirect = "1900000201"
	// FileMerchants is the sample registry written into the credentials
	// directory.
	fileMerchants = "merchants.yaml"
)

// merchantsSetup loads or generates the channel account's credentials in
// dir/bank-channel, writes dir/merchants.yaml for the worker
// (ORDERSYNC_MERCHANTS_FILE) and returns the sandbox's accounts and
// bindings. quota is each account's requests per second (0 = none).
func merchantsSetup(primary *sandbox.Credentials, quota float64) ([]sandbox.Account, []sandbox.Binding, string, error) {
	dir := filepath.Join(primary.Dir, channelAccount)
	var ch *sandbox.Credentials
	var err error
	if _, statErr := os.Stat(filepath.Join(dir, sandbox.FileIDs)); statErr == nil {
		ch, err = sandbox.LoadCredentials(dir)
	} else {
		ch, err = sandbox.GenerateAccount(dir, channelMchID)
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("channel account credentials: %w", err)
	}
	doc := fmt.Sprintf(`# Sample merchant registry of this sandbox (ORDERSYNC_MERCHANTS_FILE): two
# accounts, one sub-merchant each. The sandbox rejects a sub-merchant filed
# under the wrong account or mode with 400 "sp_mchid与sub_mchid绑定关系不合法".
accounts:
  sp-east:
    mode: service_provider
    mchid: %q
    cert_serial: %s
    private_key_file: %s
    wechatpay_public_key_file: %s
    wechatpay_public_key_id: %s
    sp_appid: wx1234567890abcdef
  %s:
    mode: channel
    mchid: %q
    cert_serial: %s
    private_key_file: %s
    wechatpay_cert_file: %s
merchants:
  %q: sp-east
  %q: %s
`, primary.MchID, primary.MchCertSerial, primary.MchPrivateKeyFile, primary.WechatPayPublicKeyFile, primary.WechatPayPublicKeyID,
		channelAccount, ch.MchID, ch.MchCertSerial, ch.MchPrivateKeyFile, ch.PlatformCertFile,
		subDirect, subIndirect, channelAccount)
	path := filepath.Join(primary.Dir, fileMerchants)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		return nil, nil, "", fmt.Errorf("write %s: %w", fileMerchants, err)
	}
	accounts := []sandbox.Account{{Credentials: ch, Quota: quota}}
	bindings := []sandbox.Binding{
		{SubMchID: subDirect, MchID: primary.MchID, Mode: "service_provider"},
		{SubMchID: subIndirect, MchID: ch.MchID, Mode: "channel"},
	}
	return accounts, bindings, path, nil
}
