module gtrace.demo

go 1.19
