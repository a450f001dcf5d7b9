/* Tests of vtable: to be written. */
int main(void) { return 77; }
