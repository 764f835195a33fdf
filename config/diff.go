package config

import (
	"reflect"
	"strings"
)

// Diff lists the options whose values differ between a and b, by key
// ("server.motd"), in the order Config declares them. A list (plugins,
// server.operators) is one option: it differs if any of its items do.
func Diff(a, b Config) []string {
	var keys []string
	diff(reflect.ValueOf(a), reflect.ValueOf(b), "", &keys)
	return keys
}

func diff(a, b reflect.Value, prefix string, keys *[]string) {
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("koanf"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		key := prefix + tag
		va, vb := a.Field(i), b.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t.PkgPath() {
			diff(va, vb, key+".", keys)
			continue
		}
		if !equalValues(va, vb) {
			*keys = append(*keys, key)
		}
	}
}

// equalValues is reflect.DeepEqual, except that an empty list or map is
// equal to none: a file's "plugins: []" is no plugins, as no line is.
func equalValues(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice, reflect.Map:
		if a.Len() == 0 && b.Len() == 0 {
			return true
		}
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}
