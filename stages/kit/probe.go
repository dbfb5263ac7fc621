package kit

import "slices"

// ProbeParams resolves the params of a probe of kind k (see "Dynamic
// probes" in the package doc) as a pipeline file's params are resolved:
// Go integers are taken as int64, "seed" (a non-negative integer) sets the
// probe's seed instead of callerSeed, every other name must be a
// parameter of k, defaults fill in the rest, and ranges and k's Validator
// apply. given are the names and values as passed (seed included), from
// which the probe's name and labels are made.
func ProbeParams(k Kind, raw map[string]any, callerSeed int64) (params Params, seed int64, given map[string]any, err error) {
	seed, given = callerSeed, map[string]any{}
	vals := map[string]any{}
	var names []string
	for _, p := range k.Params() {
		names = append(names, p.Name)
	}
	for name, v := range raw {
		v = widenInts(v)
		given[name] = v
		if name == "seed" {
			s, ok := v.(int64)
			if !ok || s < 0 {
				return nil, 0, nil, Errorf("seed", "%v: want a non-negative integer", v)
			}
			seed = s
			continue
		}
		if !slices.Contains(names, name) {
			return nil, 0, nil, Errorf(name, "unknown parameter of kind %q%s", k.Name(), Suggest(name, names))
		}
		vals[name] = v
	}
	if params, err = Resolve(k.Params(), vals); err != nil {
		return nil, 0, nil, err
	}
	if v, ok := k.(Validator); ok {
		if err := v.Validate(params); err != nil {
			return nil, 0, nil, err
		}
	}
	return params, seed, given, nil
}

// widenInts turns Go integers into the int64 that parameters hold.
func widenInts(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint32:
		return int64(x)
	case []int:
		out := make([]int64, len(x))
		for i, e := range x {
			out[i] = int64(e)
		}
		return out
	}
	return v
}
