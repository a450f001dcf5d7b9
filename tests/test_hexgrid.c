/* Tests of hexgrid: to be written. */
int main(void) { return 77; }
