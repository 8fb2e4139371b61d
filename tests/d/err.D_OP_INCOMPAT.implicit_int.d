this x;

BEGIN
{
	this->x = execname;
}
