import pytest

from nlpfactory.data.schema import SchemaField, format_schema, parse_schema
from nlpfactory.errors import InputError


def test_schema_gives_names_types_and_counts_in_order():
    fields = parse_schema("label:str:1,text:str:1,score:float:3")
    assert fields == [SchemaField("label"), SchemaField("text"), SchemaField("score", "float", 3)]


def test_schema_tolerates_spaces_and_round_trips():
    fields = parse_schema(" text : str : 1 , label:int:1 ")
    assert format_schema(fields) == "text:str:1,label:int:1"


def test_empty_schema_means_the_file_has_a_header():
    assert parse_schema("") == []
    assert parse_schema("  ") == []


@pytest.mark.parametrize("bad", ["text", "text:str", "text:string:1", "text:str:0",
                                 "text:str:one", ":str:1", "text:str:1,", "text:str:1:2"])
def test_schema_that_does_not_parse_says_what_the_form_is(bad):
    with pytest.raises(InputError) as err:
        parse_schema(bad)
    assert "name:type:count" in str(err.value)
    assert "text:str:1,label:str:1" in str(err.value)


def test_schema_naming_a_column_twice_is_an_error():
    with pytest.raises(InputError, match="twice"):
        parse_schema("text:str:1,text:str:1")
