package client

import (
	"fmt"
	"reflect"
	"testing"
)

// TestProducerConversionKeepsEveryField: a producer field added to the
// wire type and the event must not be dropped by the conversions (as
// git_branch once was), so every field is set and must survive both ways.
func TestProducerConversionKeepsEveryField(t *testing.T) {
	var p Producer
	v := reflect.ValueOf(&p).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString(fmt.Sprintf("value of %s", v.Type().Field(i).Name))
		case reflect.Bool:
			f.SetBool(true)
		default:
			t.Fatalf("Producer.%s is a %s: teach this test to fill it", v.Type().Field(i).Name, f.Kind())
		}
	}
	in := producerToInternal(p)
	if n, m := reflect.TypeOf(in).NumField(), v.NumField(); n != m {
		t.Errorf("eventlog.Producer has %d fields, client.Producer %d", n, m)
	}
	if got := producerFromInternal(in); got != p {
		t.Errorf("round trip = %+v, want %+v", got, p)
	}
}
