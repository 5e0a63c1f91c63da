module openim-policy/tests/go-decoder

go 1.21
