package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/stewardhq/steward/plugins/sdk"
)

// Settings of a payments plugin: plugins.settings.payments in steward.yaml.
type Settings struct {
	Endpoint string `json:"endpoint" desc:"base URL of the payments API"`
	APIKey   string `json:"api_key" desc:"write {secret: PAYMENTS_KEY}" steward:"sensitive"`
}

type GetPaymentInput struct {
	PaymentID string `json:"payment_id" pattern:"^pay_[a-z0-9]+$" desc:"the card payment"`
	Expand    bool   `json:"expand,omitempty" desc:"include the authorization history"`
}

type GetPaymentOutput struct {
	Status string `json:"status" enum:"authorized,declined,settled,refunded"`
	Amount int64  `json:"amount" desc:"in minor units"`
}

type payments struct{ settings Settings }

func (p *payments) getPayment(ctx context.Context, call *sdk.Call, in GetPaymentInput) (GetPaymentOutput, error) {
	call.Infof("looking up %s at %s", in.PaymentID, p.settings.Endpoint)
	if in.PaymentID == "pay_missing" {
		return GetPaymentOutput{}, sdk.Error("not_found", "no payment %s", in.PaymentID)
	}
	return GetPaymentOutput{Status: "settled", Amount: 1250}, nil
}

// A plugin is a Plugin value handed to Serve, which is the whole main. The
// schemas come from the structs.
func Example() {
	p := &payments{}
	plugin := sdk.Plugin{
		Name:    "payments",
		Version: "1.0.0",
		Config:  &p.settings,
		Actions: []sdk.ActionDef{
			sdk.Action("get_payment", p.getPayment, sdk.Describe("Looks up a card payment.")),
		},
	}
	// A plugin's main is sdk.Serve(plugin). NewServer checks the plugin as
	// Serve does, without serving it.
	if _, err := sdk.NewServer(plugin); err != nil {
		fmt.Println(err)
	}
	in, _ := sdk.SchemaOf(reflect.TypeFor[GetPaymentInput]())
	b, _ := json.Marshal(in)
	fmt.Println(string(b))
	// Output:
	// {"type":"object","properties":{"expand":{"type":"boolean","description":"include the authorization history"},"payment_id":{"type":"string","description":"the card payment","pattern":"^pay_[a-z0-9]+$"}},"required":["payment_id"]}
}
