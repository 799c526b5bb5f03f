module goready.test/modproxy

go 1.22
