struct record {
	int position;
};

struct record r;

BEGIN
{
	@counts[r] = count();
}
